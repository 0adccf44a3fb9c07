// The user's wallet at /app/wallet: the balance, top-up (the payment redirect, then the order's
// state when the gateway sends the payer back with ?order_no=), the orders, redeeming a code
// (the new balance shown), the daily check-in, and the referral link with its earnings.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { useLocation } from "../lib/router";
import { refreshMe, useMe } from "../lib/session";
import { ActionState, Alert, Button, Card, Field, Link, Loading, Table } from "../ui/kit";
import { CurrencyView, OrderStatus, Orders, TopUp, usePayConfig } from "./pay";

/** /app/wallet */
export function Wallet() {
  const user = useMe();
  const { query } = useLocation();
  const orderNo = query.get("order_no");
  const config = usePayConfig();
  return (
    <>
      <h1>{t("Wallet")}</h1>
      {orderNo && <OrderStatus orderNo={orderNo} />}
      <div class="grid">
        <Card title={t("Balance")}>
          <p class="big" data-testid="wallet-balance">
            {num(user?.balance)} <small class="muted">{t("quota units")}</small>
          </p>
          <CurrencyView quota={user?.balance} config={config.data} />
          <Link href="/app/plans">{t("Plans")}</Link>
        </Card>
        <Redeem />
      </div>
      <Alert>{config.error}</Alert>
      {config.data && <TopUp config={config.data} />}
      <Orders />
      <CheckIn />
      <Referral />
    </>
  );
}

/** The referral code and link (copyable), the invitees, the commission rate and what it earned. */
function Referral() {
  const r = useLoad(() => must(pg.user.GET("/api/user/referral")), []);
  const [copied, setCopied] = useState(false);
  const d = r.data;
  return (
    <Card title={t("Referral")}>
      <Alert>{r.error}</Alert>
      {r.loading && !d && <Loading />}
      {d && (
        <>
          <p>{t("Whoever registers through your link becomes your invitee; {p}‰ of each top-up they pay is credited to you.", { p: d.commission_permille })}</p>
          <div class="row">
            <code class="secret-value" data-testid="referral-link">
              {d.link}
            </code>
            <Button
              onClick={async () => {
                try {
                  await navigator.clipboard.writeText(d.link);
                  setCopied(true);
                } catch {
                  setCopied(false);
                }
              }}
            >
              {copied ? t("Copied") : t("Copy")}
            </Button>
          </div>
          <dl class="figures">
            <div>
              <dt>{t("Referral code")}</dt>
              <dd>
                <code>{d.code}</code>
              </dd>
            </div>
            <div>
              <dt>{t("Invitees")}</dt>
              <dd data-testid="referral-invitees">{num(d.invitees)}</dd>
            </div>
            <div>
              <dt>{t("Earned in all")}</dt>
              <dd data-testid="referral-earned">{num(d.earned)}</dd>
            </div>
          </dl>
          <Table
            label={t("Recent invitees")}
            rows={d.recent}
            rowKey={(i) => `${i.username}-${i.created_at}`}
            empty={t("No invitees yet.")}
            cols={[
              { label: t("User"), cell: (i) => i.username },
              { label: t("Joined"), cell: (i) => when(i.created_at) },
              { label: t("Earned"), cell: (i) => num(i.earned), num: true },
            ]}
          />
        </>
      )}
    </Card>
  );
}

/** The redeem form: the credit and the new balance on success, the server's words otherwise. */
function Redeem() {
  const [code, setCode] = useState("");
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(
      async () => {
        const r = await must(pg.user.POST("/api/user/redeem", { body: { code: code.trim() } }));
        setCode("");
        await refreshMe();
        return r;
      },
      (r) =>
        r.subscription
          ? t("Redeemed the plan {plan} until {until} ({quota} quota units); your balance is now {balance}.", {
              plan: r.subscription.plan_name,
              until: when(r.subscription.expires_at),
              quota: num(r.quota),
              balance: num(r.balance),
            })
          : t("Redeemed {quota} quota units; your balance is now {balance}.", { quota: num(r.quota), balance: num(r.balance) }),
    );
  };
  return (
    <Card title={t("Redeem a code")}>
      <form class="stack" onSubmit={submit}>
        <Field label={t("Redemption code")}>
          {(id) => (
            <input id={id} required maxLength={64} autoComplete="off" spellcheck={false} placeholder="PGR-…" value={code} onInput={(e) => setCode((e.target as HTMLInputElement).value)} />
          )}
        </Field>
        <div class="row end">
          <Button kind="primary" type="submit" busy={act.busy}>
            {t("Redeem")}
          </Button>
        </div>
        <ActionState a={act} />
      </form>
    </Card>
  );
}

/** The daily check-in: today's state and button, the totals, and past check-ins. */
function CheckIn() {
  const status = useLoad(() => must(pg.user.GET("/api/user/check-in/status")), []);
  const records = useLoad(() => must(pg.user.GET("/api/user/check-in/records", { params: { query: { limit: 31 } } })), []);
  const act = useAction();
  const s = status.data;
  const checkIn = () => {
    void act.run(
      async () => {
        try {
          const r = await must(pg.user.POST("/api/user/check-in"));
          await refreshMe();
          return r;
        } finally {
          // A refusal (checked in elsewhere, check-in turned off) changes what the page shows too.
          status.reload();
          records.reload();
        }
      },
      (r) => t("Checked in: {reward} quota units; your balance is now {balance}.", { reward: num(r.reward), balance: num(r.balance) }),
    );
  };
  return (
    <Card title={t("Daily check-in")}>
      <Alert>{status.error}</Alert>
      {status.loading && !s ? (
        <Loading />
      ) : s && !s.enabled ? (
        <p class="muted" data-testid="check-in-state">
          {t("Check-in is off on this server.")}
        </p>
      ) : s ? (
        <>
          <dl class="figures">
            <div>
              <dt>{t("Today")}</dt>
              <dd data-testid="check-in-state">{s.checked_in_today ? t("+{n} quota units", { n: num(s.reward_today) }) : t("not checked in")}</dd>
            </div>
            <div>
              <dt>{t("Reward")}</dt>
              <dd>{t("{min} to {max}", { min: num(s.min_reward), max: num(s.max_reward) })}</dd>
            </div>
            <div>
              <dt>{t("Days checked in")}</dt>
              <dd>{num(s.days)}</dd>
            </div>
            <div>
              <dt>{t("Earned in all")}</dt>
              <dd>{num(s.total)}</dd>
            </div>
          </dl>
          <div class="row">
            <Button kind="primary" busy={act.busy} disabled={s.checked_in_today} onClick={checkIn}>
              {s.checked_in_today ? t("Checked in today") : t("Check in")}
            </Button>
            <span class="muted small">{t("Days are counted in the site's time zone ({today} now).", { today: s.today })}</span>
          </div>
        </>
      ) : null}
      <ActionState a={act} />
      <h3>{t("Past check-ins")}</h3>
      <Alert>{records.error}</Alert>
      <Table
        label={t("Past check-ins")}
        rows={records.data?.items}
        rowKey={(r) => r.day}
        empty={t("No check-ins yet.")}
        cols={[
          { label: t("Day"), cell: (r) => r.day },
          { label: t("Reward"), cell: (r) => num(r.reward), num: true },
          { label: t("At"), cell: (r) => when(r.created_at) },
        ]}
      />
    </Card>
  );
}
