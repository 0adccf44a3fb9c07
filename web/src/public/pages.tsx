// Public pages: the status page (/uptime), the price list (/pricing) and the share-link chat
// (/share/{id}?authToken=…, seed 004: init, then chat; a refusal shown in the server's words).
import { useState } from "preact/hooks";
import { must, pg, useLoad } from "../lib/api";
import { gatewayMessage } from "../lib/chat";
import { num, t, useLang, when } from "../lib/i18n";
import { ChatBox } from "../ui/chat";
import { Alert, Badge, Card, Field, Loading } from "../ui/kit";
import { PriceTable } from "../ui/prices";
import { PublicFrame } from "../ui/shell";
import { UptimeBars } from "../ui/widgets";

/** /uptime */
export function StatusPage() {
  useLang();
  const st = useLoad(() => must(pg.public.GET("/api/public/status")), []);
  const ann = useLoad(() => must(pg.public.GET("/api/public/announcements")), []);
  const mons = st.data?.monitors ?? [];
  const down = mons.filter((m) => m.status === "down").length;
  return (
    <PublicFrame title={t("Service status")}>
      {st.data && (
        <p class={`banner ${down ? "bad" : "ok"}`} role="status">
          {mons.length === 0 ? t("No public monitors.") : down ? t("{n} of {m} services are down.", { n: down, m: mons.length }) : t("All services are operating normally.")}
        </p>
      )}
      <Alert>{st.error}</Alert>
      {st.loading && !st.data && <Loading />}
      <Card>
        <ul class="monitors" role="list">
          {mons.map((m) => (
            <li>
              <div class="row between">
                <strong>{m.name}</strong>
                <Badge value={m.status} />
              </div>
              <UptimeBars hours={m.history} pct={m.uptime_24h} />
              <p class="muted small">
                {m.latency_ms !== null && `${num(m.latency_ms)} ms · `}
                {t("checked {when}", { when: when(m.checked_at) })}
                {m.message && ` · ${m.message}`}
              </p>
            </li>
          ))}
        </ul>
      </Card>
      {(ann.data?.items.length ?? 0) > 0 && (
        <Card title={t("Announcements")}>
          {ann.data!.items.map((a) => (
            <article class="announcement">
              <h3>{a.title}</h3>
              <p class="pre">{a.content}</p>
            </article>
          ))}
        </Card>
      )}
    </PublicFrame>
  );
}

/**
 * /pricing: every model's list price (quota units per million tokens; per call and per image as
 * stated) when the site publishes them (setting pricing_endpoint_enabled), else says it does not.
 */
export function PricingPage() {
  useLang();
  const p = useLoad(async () => {
    const r = await pg.public.GET("/api/pricing");
    if (r.response.status === 404) return null;
    return must(Promise.resolve(r));
  }, []);
  return (
    <PublicFrame title={t("Pricing")}>
      <Alert>{p.error}</Alert>
      {p.loading && p.data === undefined && <Loading />}
      {p.data === null && (
        <Card>
          <p data-testid="pricing-off">{t("This server does not publish its prices.")}</p>
        </Card>
      )}
      {p.data && (
        <Card>
          <p class="muted">{t("Quota units per million tokens (per call and per image as stated), before any group, channel or user multiplier.")}</p>
          <PriceTable label={t("Pricing")} rows={p.data.items} price={(m) => m} empty={t("No public prices.")} />
        </Card>
      )}
    </PublicFrame>
  );
}

/** /share/{id} */
export function SharePage({ id }: { id: string }) {
  useLang();
  const authToken = new URLSearchParams(location.search).get("authToken") ?? undefined;
  const [model, setModel] = useState("");
  const info = useLoad(async () => {
    const r = await pg.gateway.GET("/share/{share_id}/init", { params: { path: { share_id: id }, query: authToken ? { authToken } : {} } });
    if (!r.response.ok || !r.data) throw new Error(gatewayMessage(r.error, r.response.status));
    setModel(r.data.models[0] ?? "");
    return r.data;
  }, [id]);
  return (
    <PublicFrame title={info.data?.name || t("Shared chat")}>
      {info.loading && <Loading />}
      {info.error && (
        <Card title={t("This link cannot be used")}>
          <Alert>{info.error}</Alert>
        </Card>
      )}
      {info.data && (
        <Card>
          <div class="filters">
            <Field label={t("Model")}>
              {(fid) =>
                info.data!.models.length > 0 ? (
                  <select id={fid} value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
                    {info.data!.models.map((m) => (
                      <option value={m}>{m}</option>
                    ))}
                  </select>
                ) : (
                  <input id={fid} value={model} onInput={(e) => setModel((e.target as HTMLInputElement).value)} placeholder="gpt-4o-mini" />
                )
              }
            </Field>
          </div>
          <ChatBox target={{ share: id, bearer: authToken }} model={model} />
        </Card>
      )}
      <p class="muted small">{t("Opened {when}", { when: when(new Date().toISOString()) })}</p>
    </PublicFrame>
  );
}
