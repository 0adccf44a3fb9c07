// Paying: the method chooser, opening an order and sending the browser to the gateway's page,
// the order the gateway sent the payer back to (its state read until it is settled), and the
// user's orders. Amounts are the site's currency as decimal strings; quota is integer units.
import { useEffect, useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type UserSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { navigate } from "../lib/router";
import { refreshMe } from "../lib/session";
import { ActionState, Alert, Badge, Button, Card, Field, Loading, Pager, Table } from "../ui/kit";

/** The site's payment configuration. */
export type PayConfig = UserSchema<"PaymentConfig">;
type Order = UserSchema<"PaymentOrder">;

/** A price in cents as the currency's decimal string (integer arithmetic, no floats). */
export function money(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

/**
 * What a quota is worth in the site's currency ("≈ 3.00"), when the site sells quota (some
 * payment method is on); nothing otherwise.
 */
export function CurrencyView({ quota, config }: { quota: number | undefined; config?: PayConfig }) {
  if (quota === undefined || !config || config.methods.length === 0 || config.quota_per_unit <= 0) return null;
  const cents = Math.floor((Math.max(0, quota) * 100) / config.quota_per_unit);
  return <p class="muted" data-testid="currency-view">{t("≈ {amount} in the site's currency", { amount: money(cents) })}</p>;
}

/** Loads the payment configuration. */
export const usePayConfig = () => useLoad(() => must(pg.user.GET("/api/user/payment/config")), []);

/** The chosen method and pay type, "method/type" ("openpayment/" without a type). */
export function defaultWay(c?: PayConfig): string {
  const m = c?.methods[0];
  return m ? `${m.method}/${m.pay_types[0] ?? ""}` : "";
}

/** A select of every enabled method × pay type. */
export function WaySelect(props: { config: PayConfig; value: string; onChange: (v: string) => void }) {
  return (
    <Field label={t("Pay with")}>
      {(id) => (
        <select id={id} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
          {props.config.methods.flatMap((m) =>
            m.pay_types.length === 0
              ? [<option value={`${m.method}/`}>{t(m.method)}</option>]
              : m.pay_types.map((p) => <option value={`${m.method}/${p}`}>{`${t(m.method)} · ${t(p)}`}</option>),
          )}
        </select>
      )}
    </Field>
  );
}

/**
 * Opens an order (an amount or a plan) paid the chosen way and sends the browser to the
 * gateway's page; the gateway sends it back to /app/wallet?order_no=….
 */
export async function openOrder(way: string, what: { amount: string } | { plan_id: number }): Promise<Order> {
  const [method, payType] = way.split("/") as [UserSchema<"PaymentMethod">, string];
  const order = await must(pg.user.POST("/api/user/payment/orders", { body: { ...what, method, ...(payType ? { pay_type: payType } : {}) } }));
  if (order.pay_url) location.assign(order.pay_url);
  return order;
}

/** The top-up form: an amount of the site's currency, what it buys, and the way to pay. */
export function TopUp({ config }: { config: PayConfig }) {
  const [amount, setAmount] = useState(config.min_amount);
  const [way, setWay] = useState(defaultWay(config));
  const act = useAction();
  const valid = /^[0-9]{1,9}(\.[0-9]{1,2})?$/.test(amount);
  // amount × quota_per_unit in integer cents, rounded down as the server does.
  const cents = valid ? Number(amount.split(".")[0]) * 100 + Number((amount.split(".")[1] ?? "").padEnd(2, "0")) : 0;
  const quota = Math.floor((cents * config.quota_per_unit) / 100);
  return (
    <Card title={t("Top up")}>
      {config.methods.length === 0 ? (
        <p class="muted" data-testid="top-up-off">
          {t("Payments are off on this server.")}
        </p>
      ) : (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void act.run(() => openOrder(way, { amount }), t("Going to the payment page…"));
          }}
        >
          <div class="form-grid">
            <Field label={t("Amount")} hint={t("At least {min}; one unit buys {q} quota units.", { min: config.min_amount, q: num(config.quota_per_unit) })}>
              {(id) => <input id={id} required inputMode="decimal" pattern="[0-9]{1,9}(\.[0-9]{1,2})?" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} />}
            </Field>
            <WaySelect config={config} value={way} onChange={setWay} />
          </div>
          <p class="muted" data-testid="top-up-quota">
            {valid ? t("Credits {q} quota units once paid.", { q: num(quota) }) : t("Enter an amount with at most two decimals.")}
          </p>
          <div class="row end">
            <Button kind="primary" type="submit" busy={act.busy} disabled={!valid}>
              {t("Pay")}
            </Button>
          </div>
          <ActionState a={act} />
        </form>
      )}
    </Card>
  );
}

/**
 * The order the gateway sent the payer back to: its state, read again every two seconds while
 * it is pending (the gateway's notify may arrive after the payer does).
 */
export function OrderStatus({ orderNo }: { orderNo: string }) {
  const o = useLoad(() => must(pg.user.GET("/api/user/payment/orders/{order_no}", { params: { path: { order_no: orderNo } } })), [orderNo]);
  const status = o.data?.status;
  useEffect(() => {
    if (status === "paid") void refreshMe();
    if (status !== "pending") return;
    const id = setTimeout(o.reload, 2000);
    return () => clearTimeout(id);
  }, [status, o.data, o.reload]);
  return (
    <Card
      title={t("Order {no}", { no: orderNo })}
      actions={
        <Button onClick={() => navigate("/app/wallet", true)} aria-label={t("Close the order")}>
          ×
        </Button>
      }
    >
      <Alert>{o.error}</Alert>
      {o.loading && !o.data && <Loading />}
      {o.data && (
        <>
          <p data-testid="order-status" role="status">
            {o.data.status === "paid"
              ? o.data.plan_id
                ? t("Paid: the plan is yours (see Plans).")
                : t("Paid: {q} quota units were credited.", { q: num(o.data.quota) })
              : o.data.status === "pending"
                ? t("Waiting for the payment to be confirmed…")
                : t("This order expired unpaid; nothing was charged.")}
          </p>
          <dl class="figures">
            <div>
              <dt>{t("State")}</dt>
              <dd>
                <OrderBadge status={o.data.status} />
              </dd>
            </div>
            <div>
              <dt>{t("Amount")}</dt>
              <dd>{o.data.amount}</dd>
            </div>
            <div>
              <dt>{t("Quota")}</dt>
              <dd>{num(o.data.quota)}</dd>
            </div>
            <div>
              <dt>{o.data.paid_at ? t("Paid at") : t("Pay before")}</dt>
              <dd>{when(o.data.paid_at ?? o.data.expires_at)}</dd>
            </div>
          </dl>
          {o.data.status === "pending" && o.data.pay_url && (
            <a class="btn btn-plain" href={o.data.pay_url}>
              {t("Go to the payment page")}
            </a>
          )}
        </>
      )}
    </Card>
  );
}

/** An order's state as a badge ("awaiting payment", "paid", "expired"). */
export function OrderBadge({ status }: { status: string }) {
  return status === "paid" ? <Badge value="paid" tone="ok" /> : status === "pending" ? <Badge value="awaiting payment" tone="warn" /> : <Badge value={status} tone="bad" />;
}

/** The user's orders, newest first, in pages; a pending one can be paid from here. */
export function Orders() {
  const [page, setPage] = useState(1);
  const list = useLoad(() => must(pg.user.GET("/api/user/payment/orders", { params: { query: { page, page_size: 10 } } })), [page]);
  return (
    <Card title={t("My orders")}>
      <Alert>{list.error}</Alert>
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <>
          <Table<Order>
            label={t("My orders")}
            rows={list.data?.items}
            rowKey={(o) => o.order_no}
            empty={t("No orders yet.")}
            cols={[
              { label: t("Order"), cell: (o) => <code>{o.order_no}</code> },
              { label: t("Created"), cell: (o) => when(o.created_at) },
              { label: t("Amount"), cell: (o) => o.amount, num: true },
              { label: t("Quota"), cell: (o) => num(o.quota), num: true },
              { label: t("For"), cell: (o) => (o.plan_id ? t("a plan") : t("top-up")) },
              { label: t("Paid with"), cell: (o) => `${t(o.method)}${o.pay_type ? ` · ${t(o.pay_type)}` : ""}` },
              { label: t("State"), cell: (o) => <OrderBadge status={o.status} /> },
              {
                label: t("Actions"),
                cell: (o) =>
                  o.status === "pending" && o.pay_url ? (
                    <a class="btn btn-plain" href={o.pay_url}>
                      {t("Pay")}
                    </a>
                  ) : (
                    <Button onClick={() => navigate(`/app/wallet?order_no=${encodeURIComponent(o.order_no)}`)}>{t("Details")}</Button>
                  ),
              },
            ]}
          />
          {list.data && list.data.total > list.data.page_size && <Pager page={page} pageSize={list.data.page_size} total={list.data.total} onPage={setPage} />}
        </>
      )}
    </Card>
  );
}
