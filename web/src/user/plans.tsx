// /app/plans: the user's plan now (tier, expiry with a countdown, the latest grants) and the plans
// on offer, each bought through the payment gateway (an order for the plan, then the gateway's
// page; back on /app/wallet the order's state).
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type UserSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Alert, Button, Card, Link, Loading, Table } from "../ui/kit";
import { Countdown } from "../ui/widgets";
import { defaultWay, money, openOrder, usePayConfig, WaySelect, type PayConfig } from "./pay";

type Plan = UserSchema<"Plan">;

/** /app/plans */
export function Plans() {
  const sub = useLoad(() => must(pg.user.GET("/api/user/subscription")), []);
  const plans = useLoad(() => must(pg.user.GET("/api/user/plans")), []);
  const config = usePayConfig();
  const s = sub.data;
  return (
    <>
      <h1>{t("Plans")}</h1>
      <Card title={t("My plan")}>
        <Alert>{sub.error}</Alert>
        {sub.loading && !s && <Loading />}
        {s && (
          <>
            <p class="big" data-testid="subscription">
              {s.active ? `${s.plan_name ?? t(s.tier)} · ${t(s.tier)}` : t("No plan running (free tier)")}
            </p>
            {s.active && s.expires_at && (
              <p class="muted">
                {t("Expires {when}", { when: when(s.expires_at) })} · <Countdown until={s.expires_at} onEnd={sub.reload} />
              </p>
            )}
            <h3>{t("Grants")}</h3>
            <Table<UserSchema<"Subscription">>
              label={t("Grants")}
              rows={s.history}
              rowKey={(h) => h.id}
              empty={t("No plan was granted to you yet.")}
              cols={[
                { label: t("Plan"), cell: (h) => h.plan_name },
                { label: t("Tier"), cell: (h) => t(h.tier) },
                { label: t("How"), cell: (h) => `${t(h.source)} · ${t(h.kind)}` },
                { label: t("From"), cell: (h) => when(h.starts_at) },
                { label: t("Until"), cell: (h) => when(h.expires_at) },
                { label: t("Quota"), cell: (h) => num(h.quota), num: true },
              ]}
            />
          </>
        )}
      </Card>
      <Alert>{plans.error || config.error}</Alert>
      {(plans.loading && !plans.data) || (config.loading && !config.data) ? <Loading /> : null}
      {plans.data && config.data && (
        <>
          {plans.data.items.length === 0 && (
            <Card>
              <p class="muted">{t("No plans are on offer.")}</p>
            </Card>
          )}
          {config.data.methods.length === 0 && plans.data.items.length > 0 && (
            <p class="muted">
              {t("Payments are off on this server: a plan comes from a redemption code or an administrator.")} <Link href="/app/wallet">{t("Redeem a code")}</Link>
            </p>
          )}
          <div class="grid">
            {plans.data.items.map((p) => (
              <PlanCard plan={p} config={config.data!} />
            ))}
          </div>
        </>
      )}
    </>
  );
}

/** One plan on offer: what it gives, its price and the Buy button. */
function PlanCard({ plan, config }: { plan: Plan; config: PayConfig }) {
  const [way, setWay] = useState(defaultWay(config));
  const act = useAction();
  return (
    <Card title={plan.name} class="plan">
      <p class="big">{money(plan.price)}</p>
      <ul class="plain">
        <li>{t("Tier: {tier}", { tier: t(plan.tier) })}</li>
        <li>{t("{n} days", { n: plan.duration_days })}</li>
        <li>{t("{q} quota units", { q: num(plan.quota) })}</li>
        {plan.limits.map((l) => (
          <li>
            {t("{model}: at most {what} per {window}", {
              model: l.model,
              window: l.window,
              what: [
                l.requests ? t("{n} calls", { n: num(l.requests) }) : "",
                l.tokens ? t("{n} tokens", { n: num(l.tokens) }) : "",
                l.concurrency ? t("{n} at once", { n: num(l.concurrency) }) : "",
              ]
                .filter(Boolean)
                .join(", "),
            })}
          </li>
        ))}
      </ul>
      {plan.description && <p class="muted pre">{plan.description}</p>}
      {config.methods.length > 0 && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void act.run(() => openOrder(way, { plan_id: plan.id }), t("Going to the payment page…"));
          }}
        >
          <WaySelect config={config} value={way} onChange={setWay} />
          <Button kind="primary" type="submit" busy={act.busy} aria-label={t("Buy {plan}", { plan: plan.name })}>
            {t("Buy")}
          </Button>
          <ActionState a={act} />
        </form>
      )}
    </Card>
  );
}
