// The user's dashboard: balance in quota units, plan and expiry, calls, the limits that apply
// with their countdowns, the shared quota per model family with its next-full countdown,
// announcements.
import { must, pg, useLoad, type UserSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { useMe } from "../lib/session";
import { Alert, Card, Link, Loading, Table } from "../ui/kit";
import { Countdown } from "../ui/widgets";
import { CurrencyView, usePayConfig } from "./pay";

/** /app */
export function Dashboard() {
  const user = useMe();
  const ann = useLoad(() => must(pg.user.GET("/api/user/announcements")), []);
  const pay = usePayConfig();
  const account = new URLSearchParams(location.search).get("account");
  if (!user) return null;
  return (
    <>
      <h1>{t("Welcome, {name}", { name: user.username })}</h1>
      <div class="grid">
        <Card title={t("Balance")}>
          <p class="big" data-testid="balance">
            {num(user.balance)} <small class="muted">{t("quota units")}</small>
          </p>
          <CurrencyView quota={user.balance} config={pay.data} />
          <p class="muted">{t("Used so far: {n} quota units over {c} calls", { n: num(user.used_quota), c: num(user.request_count) })}</p>
          <Link href="/app/wallet">{t("Redeem a code or top up")}</Link>
        </Card>
        <Card title={t("Plan")}>
          <p class="big">{t(user.tier ?? "free")}</p>
          {user.plan_expires_at ? (
            <p class="muted">
              {t("Expires {when}", { when: when(user.plan_expires_at) })} · <Countdown until={user.plan_expires_at} />
            </p>
          ) : (
            <p class="muted">{t("No expiry")}</p>
          )}
          {account && <p class="muted">{t("Preferred account: {a}", { a: account })}</p>}
        </Card>
        <Card title={t("Get started")}>
          <ol class="steps">
            <li>
              <Link href="/app/keys">{t("Create an API key")}</Link>
            </li>
            <li>
              <Link href="/app/playground">{t("Try a model in the playground")}</Link>
            </li>
            <li>
              <a href="/docs">{t("Read the API documentation")}</a>
            </li>
          </ol>
        </Card>
      </div>
      <Limits />
      <SharedQuotas />
      <Card title={t("Announcements")}>
        <Alert>{ann.error}</Alert>
        {ann.loading && !ann.data && <Loading />}
        {ann.data?.items.length === 0 && <p class="muted">{t("No announcements.")}</p>}
        {ann.data?.items.map((a) => (
          <article class="announcement">
            <h3>{a.title}</h3>
            <p class="muted small">{when(a.starts_at ?? a.created_at)}</p>
            <p class="pre">{a.content}</p>
          </article>
        ))}
      </Card>
    </>
  );
}

/** Who a limit rule counts: each user, each API key, each group, or everyone together. */
export function scopeLabel(scope: string): string {
  switch (scope) {
    case "user":
      return t("each user");
    case "key":
      return t("each API key");
    case "group":
      return t("each group");
    case "global":
      return t("everyone together");
    default:
      return scope;
  }
}

/** "used / limit" of one dimension of a limit (just the use when the rule does not cap it). */
function usedOf(used: number, limit: number | null): string {
  return limit === null ? num(used) : `${num(used)} / ${num(limit)}`;
}

/** The limits that apply to the user, what is used in each window and when a slot frees. */
function Limits() {
  const list = useLoad(() => must(pg.user.GET("/api/user/limits")), []);
  return (
    <Card title={t("Limits")}>
      <Alert>{list.error}</Alert>
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Table<UserSchema<"UserLimit">>
          label={t("Limits")}
          rows={list.data?.items}
          rowKey={(l) => l.id}
          empty={t("No limits apply to you.")}
          cols={[
            { label: t("Applies to"), cell: (l) => scopeLabel(l.scope) },
            { label: t("Models"), cell: (l) => <code>{l.model}</code> },
            { label: t("Window"), cell: (l) => l.window },
            { label: t("Calls"), cell: (l) => usedOf(l.used_requests, l.requests), num: true },
            { label: t("Tokens"), cell: (l) => usedOf(l.used_tokens, l.tokens), num: true },
            { label: t("In flight"), cell: (l) => usedOf(l.in_flight, l.concurrency), num: true },
            {
              label: t("Next slot"),
              cell: (l) => (l.clears_in > 0 ? <Countdown seconds={l.clears_in} onEnd={list.reload} /> : <span class="muted">{t("nothing counted")}</span>),
            },
          ]}
        />
      )}
    </Card>
  );
}

/**
 * The user's share of the pool per model family: cap (base + bonus per contributed shared
 * account), used, remaining, and countdowns to the next call (when none remains) and to full.
 */
function SharedQuotas() {
  const q = useLoad(() => must(pg.user.GET("/api/user/quotas")), []);
  const unit = (n: number) => (q.data?.unit === "tokens" ? t("{n} tokens", { n: num(n) }) : t("{n} calls", { n: num(n) }));
  if (q.data && q.data.items.length === 0) return null;
  return (
    <Card title={t("Shared quota")}>
      <Alert>{q.error}</Alert>
      {q.loading && !q.data ? (
        <Loading />
      ) : (
        <>
          <p class="muted small">{t("Calls served by shared accounts use it; it refills to the cap over {h} hours.", { h: q.data?.recovery_hours ?? "—" })}</p>
          <Table<UserSchema<"SharedQuota">>
            label={t("Shared quota")}
            rows={q.data?.items}
            rowKey={(x) => x.family}
            cols={[
              { label: t("Family"), cell: (x) => x.family },
              { label: t("Remaining"), cell: (x) => `${unit(x.remaining)} / ${num(x.cap)}`, num: true },
              { label: t("Used"), cell: (x) => num(x.used), num: true },
              { label: t("From your accounts"), cell: (x) => t("+{b} × {n} shared", { b: num(x.bonus_per_account), n: num(x.shared_accounts) }) },
              {
                label: t("Next call"),
                cell: (x) => (x.clears_in > 0 ? <Countdown seconds={x.clears_in} onEnd={q.reload} /> : <span class="muted">{t("now")}</span>),
              },
              {
                label: t("Full again"),
                cell: (x) => (x.full_in > 0 ? <Countdown seconds={x.full_in} onEnd={q.reload} /> : <span class="muted">{t("full")}</span>),
              },
            ]}
          />
        </>
      )}
    </Card>
  );
}
