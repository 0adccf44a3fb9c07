// The user's dashboard: balance in quota units, plan and expiry, calls, announcements.
import { must, pg, useLoad } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { useMe } from "../lib/session";
import { Alert, Card, Link, Loading } from "../ui/kit";
import { Countdown } from "../ui/widgets";

/** /app */
export function Dashboard() {
  const user = useMe();
  const ann = useLoad(() => must(pg.user.GET("/api/user/announcements")), []);
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
