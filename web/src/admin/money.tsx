// Money in /admin: plans (create, edit, delete, grant to a user) at /admin/plans; top-up orders,
// the payment notify audit trail and referral commissions at /admin/orders.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Alert, Badge, Button, Card, Field, Loading, Pager, Table } from "../ui/kit";
import { bool, int, opts, str, type Draft } from "../ui/form";
import { Resource } from "../ui/resource";
import { money, OrderBadge } from "../user/pay";

type Plan = AdminSchema<"Plan">;
type PlanLimit = AdminSchema<"PlanLimit">;

/** A plan's limit rules as text, one per line: `model window calls tokens concurrency` (- for none). */
function limitsText(ls: PlanLimit[]): string {
  const v = (n: number | null | undefined) => (n === null || n === undefined ? "-" : String(n));
  return ls.map((l) => `${l.model} ${l.window} ${v(l.requests)} ${v(l.tokens)} ${v(l.concurrency)}`).join("\n");
}

/** Parses limitsText's lines; a malformed line is refused naming it. */
function parseLimits(s: string): PlanLimit[] {
  return s
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const f = line.split(/\s+/);
      const n = (x?: string) => {
        if (x === undefined || x === "-") return null;
        if (!/^[0-9]+$/.test(x)) throw new Error(t("Not a limit rule: “{line}” (model window calls tokens concurrency, - for none).", { line }));
        return Number(x);
      };
      if (f.length < 2 || f.length > 5) throw new Error(t("Not a limit rule: “{line}” (model window calls tokens concurrency, - for none).", { line }));
      return { model: f[0]!, window: f[1]!, requests: n(f[2]), tokens: n(f[3]), concurrency: n(f[4]) };
    });
}

/** A decimal amount typed by the administrator as integer cents. */
function cents(s: string): number | undefined {
  const v = s.trim();
  if (v === "") return undefined;
  if (!/^[0-9]{1,10}(\.[0-9]{1,2})?$/.test(v)) throw new Error(t("A price has at most two decimals: “{v}”.", { v }));
  const [whole, frac = ""] = v.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0"));
}

function planBody(d: Draft) {
  return {
    name: str(d, "name"),
    tier: str(d, "tier") as AdminSchema<"PlanTier">,
    duration_days: int(d, "duration_days") ?? 0,
    quota: int(d, "quota") ?? 0,
    price: cents(str(d, "price")) ?? 0,
    description: str(d, "description"),
    enabled: bool(d, "enabled"),
    limits: parseLimits(str(d, "limits")),
  };
}

/** /admin/plans */
export function Plans() {
  const grant = useAction();
  return (
    <>
      <h1>{t("Plans")}</h1>
      <ActionState a={grant} />
      <Resource<Plan>
        title={t("Plans")}
        noun={t("plan")}
        load={async () => (await must(pg.admin.GET("/api/plans"))).items}
        rowKey={(p) => p.id}
        name={(p) => p.name}
        cols={[
          { label: "ID", cell: (p) => p.id, num: true },
          { label: t("Name"), cell: (p) => <><strong>{p.name}</strong>{p.description && <div class="muted small">{p.description}</div>}</> },
          { label: t("Tier"), cell: (p) => t(p.tier) },
          { label: t("Days"), cell: (p) => num(p.duration_days), num: true },
          { label: t("Quota"), cell: (p) => num(p.quota), num: true },
          { label: t("Price"), cell: (p) => money(p.price), num: true },
          { label: t("Limits"), cell: (p) => (p.limits.length ? <code class="pre">{limitsText(p.limits)}</code> : <span class="muted">—</span>) },
          { label: t("Status"), cell: (p) => <Badge value={p.enabled ? "on sale" : "not on sale"} tone={p.enabled ? "ok" : "info"} /> },
        ]}
        specs={[
          { key: "name", label: t("Name"), required: true },
          { key: "tier", label: t("Tier"), type: "select", options: opts("free", "pro", "ultra") },
          { key: "duration_days", label: t("Days"), type: "number", required: true },
          { key: "quota", label: t("Quota units granted"), type: "number" },
          { key: "price", label: t("Price"), hint: t("In the site's currency, at most two decimals (stored in cents)."), placeholder: "29.00" },
          { key: "description", label: t("Description") },
          { key: "limits", label: t("Limit rules"), type: "textarea", hint: t("One per line: model window calls tokens concurrency, - for none (e.g. “* 3h 100 - -”). Counted per user while the plan runs."), placeholder: "* 3h 100 - -" },
          { key: "enabled", label: t("On sale to users"), type: "checkbox" },
        ]}
        blank={{ name: "", tier: "pro", duration_days: "30", quota: "0", price: "", description: "", limits: "", enabled: true }}
        draftOf={(p) => ({
          name: p.name,
          tier: p.tier,
          duration_days: String(p.duration_days),
          quota: String(p.quota),
          price: money(p.price),
          description: p.description,
          limits: limitsText(p.limits),
          enabled: p.enabled,
        })}
        create={(d) => must(pg.admin.POST("/api/plans", { body: planBody(d) }))}
        update={(p, d) => must(pg.admin.PUT("/api/plans/{id}", { params: { path: { id: p.id } }, body: planBody(d) }))}
        remove={(p) => must(pg.admin.DELETE("/api/plans/{id}", { params: { path: { id: p.id } } }))}
        actions={(p) => (
          <Button
            busy={grant.busy}
            onClick={() => {
              const id = Math.trunc(Number(prompt(t("Grant “{plan}” to the user with the id:", { plan: p.name })) ?? ""));
              if (id > 0)
                void grant.run(
                  () => must(pg.admin.POST("/api/users/{id}/subscriptions", { params: { path: { id } }, body: { plan_id: p.id } })),
                  (s) => t("Granted {plan} to user {id} until {until} ({kind}).", { plan: p.name, id, until: when(s.expires_at), kind: t(s.kind) }),
                );
            }}
          >
            {t("Grant")}
          </Button>
        )}
      />
    </>
  );
}

const PAGE = 20;

/** /admin/orders */
export function Orders() {
  return (
    <>
      <h1>{t("Orders and payments")}</h1>
      <OrderList />
      <Notifies />
      <Commissions />
    </>
  );
}

function OrderList() {
  const [user, setUser] = useState("");
  const [status, setStatus] = useState("");
  const [filter, setFilter] = useState({ user: "", status: "" });
  const [page, setPage] = useState(1);
  const list = useLoad(
    () =>
      must(
        pg.admin.GET("/api/payment/orders", {
          params: { query: { user_id: filter.user ? Number(filter.user) : undefined, status: filter.status || undefined, page, page_size: PAGE } },
        }),
      ),
    [filter, page],
  );
  return (
    <Card title={t("Orders")}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setFilter({ user: user.trim(), status });
        }}
      >
        <Field label={t("User id")}>{(id) => <input id={id} type="number" min={1} value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />}</Field>
        <Field label={t("State")}>
          {(id) => (
            <select id={id} value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
              <option value="">{t("any")}</option>
              <option value="pending">{t("awaiting payment")}</option>
              <option value="paid">{t("paid")}</option>
              <option value="expired">{t("expired")}</option>
            </select>
          )}
        </Field>
        <div class="row end">
          <Button type="submit" kind="primary" busy={list.loading}>
            {t("Apply")}
          </Button>
        </div>
      </form>
      <Alert>{list.error}</Alert>
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Table<AdminSchema<"PaymentOrderAdmin">>
          label={t("Orders")}
          rows={list.data?.items}
          rowKey={(o) => o.order_no}
          empty={t("No orders.")}
          cols={[
            { label: t("Order"), cell: (o) => <code>{o.order_no}</code> },
            { label: t("User"), cell: (o) => `${o.username} (#${o.user_id})` },
            { label: t("Created"), cell: (o) => when(o.created_at) },
            { label: t("Amount"), cell: (o) => o.amount, num: true },
            { label: t("Quota"), cell: (o) => num(o.quota), num: true },
            { label: t("For"), cell: (o) => (o.plan_id ? t("plan #{id}", { id: o.plan_id }) : t("top-up")) },
            { label: t("Paid with"), cell: (o) => `${t(o.method)}${o.pay_type ? ` · ${t(o.pay_type)}` : ""}` },
            { label: t("Gateway's number"), cell: (o) => (o.trade_no ? <code>{o.trade_no}</code> : "—") },
            { label: t("State"), cell: (o) => <OrderBadge status={o.status} /> },
            { label: t("Paid at"), cell: (o) => when(o.paid_at) },
          ]}
        />
      )}
      {list.data && list.data.total > PAGE && <Pager page={page} pageSize={PAGE} total={list.data.total} onPage={setPage} />}
    </Card>
  );
}

function Notifies() {
  const [orderNo, setOrderNo] = useState("");
  const [filter, setFilter] = useState("");
  const list = useLoad(() => must(pg.admin.GET("/api/payment/notifies", { params: { query: { order_no: filter || undefined, limit: 100 } } })), [filter]);
  return (
    <Card title={t("Payment notifies")}>
      <p class="muted small">{t("Every notify a gateway sent, valid or not, and what was decided.")}</p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(orderNo.trim());
        }}
      >
        <Field label={t("Order")}>{(id) => <input id={id} type="search" maxLength={64} value={orderNo} onInput={(e) => setOrderNo((e.target as HTMLInputElement).value)} />}</Field>
        <div class="row end">
          <Button type="submit" kind="primary" busy={list.loading}>
            {t("Apply")}
          </Button>
        </div>
      </form>
      <Alert>{list.error}</Alert>
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Table<AdminSchema<"PaymentNotify">>
          label={t("Payment notifies")}
          rows={list.data?.items}
          rowKey={(n) => n.id}
          empty={t("No notifies.")}
          cols={[
            { label: t("At"), cell: (n) => when(n.created_at) },
            { label: t("Gateway"), cell: (n) => t(n.method) },
            { label: t("Order"), cell: (n) => <code>{n.order_no || "—"}</code> },
            { label: t("Gateway's number"), cell: (n) => n.trade_no || "—" },
            { label: t("Decision"), cell: (n) => <Badge value={n.result} tone={n.result === "credited" ? "ok" : n.result === "duplicate" || n.result === "ignored" ? "info" : "bad"} /> },
            { label: t("From"), cell: (n) => n.remote_addr },
            {
              label: t("Parameters"),
              cell: (n) => (
                <code class="small clamp" title={Object.entries(n.params).map(([k, v]) => `${k}=${v}`).join("\n")}>
                  {["money", "trade_status", "type"].filter((k) => n.params[k]).map((k) => `${k}=${n.params[k]}`).join(" ")}
                </code>
              ),
            },
          ]}
        />
      )}
    </Card>
  );
}

function Commissions() {
  const [inviter, setInviter] = useState("");
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(1);
  const list = useLoad(
    () => must(pg.admin.GET("/api/referral-commissions", { params: { query: { inviter_id: filter ? Number(filter) : undefined, page, page_size: PAGE } } })),
    [filter, page],
  );
  return (
    <Card title={t("Referral commissions")}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setFilter(inviter.trim());
        }}
      >
        <Field label={t("Inviter id")}>{(id) => <input id={id} type="number" min={1} value={inviter} onInput={(e) => setInviter((e.target as HTMLInputElement).value)} />}</Field>
        <div class="row end">
          <Button type="submit" kind="primary" busy={list.loading}>
            {t("Apply")}
          </Button>
        </div>
      </form>
      <Alert>{list.error}</Alert>
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Table<AdminSchema<"ReferralCommission">>
          label={t("Referral commissions")}
          rows={list.data?.items}
          rowKey={(c) => c.id}
          empty={t("No commissions yet.")}
          cols={[
            { label: t("At"), cell: (c) => when(c.created_at) },
            { label: t("Inviter"), cell: (c) => `${c.inviter_username} (#${c.inviter_id})` },
            { label: t("Invitee"), cell: (c) => `${c.invitee_username} (#${c.invitee_id})` },
            { label: t("Order"), cell: (c) => <code>{c.order_no}</code> },
            { label: t("Share"), cell: (c) => `${c.permille}‰`, num: true },
            { label: t("Credited"), cell: (c) => num(c.amount), num: true },
          ]}
        />
      )}
      {list.data && list.data.total > PAGE && <Pager page={page} pageSize={PAGE} total={list.data.total} onPage={setPage} />}
    </Card>
  );
}
