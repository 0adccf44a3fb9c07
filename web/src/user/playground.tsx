// /app/playground: a chat streamed through the gateway with the user's session or an API key,
// a model picker (GET /v1/models) and seed 000's account ("car") picker from /carpage with each
// account's /status.
import { useState } from "preact/hooks";
import { must, pg, useLoad } from "../lib/api";
import { listModels, type ChatTarget } from "../lib/chat";
import { t } from "../lib/i18n";
import { freshKey } from "../lib/keys";
import { useStore } from "../lib/store";
import { ChatBox } from "../ui/chat";
import { Alert, Badge, Card, Field, Loading } from "../ui/kit";
import { Countdown } from "../ui/widgets";

function AccountStatus({ id }: { id: number }) {
  const st = useLoad(() => must(pg.public.GET("/status", { params: { query: { carid: String(id) } } })), [id]);
  if (st.loading) return <span class="muted">…</span>;
  if (st.error || !st.data) return <span class="muted">{st.error}</span>;
  return st.data.accountReady ? (
    <Badge value={t("ready")} tone="ok" />
  ) : (
    <span>
      <Badge value={t("cooling")} tone="warn" /> <Countdown seconds={st.data.clears_in} />
    </span>
  );
}

/** /app/playground */
export function Playground() {
  const fresh = useStore(freshKey);
  const [mode, setMode] = useState<"session" | "fresh" | "key">(fresh ? "fresh" : "session");
  const [typed, setTyped] = useState("");
  const [model, setModel] = useState("");
  const [account, setAccount] = useState(0);
  const bearer = mode === "fresh" ? fresh?.key : mode === "key" ? typed.trim() || undefined : undefined;
  const target: ChatTarget = { bearer, account: account || undefined };
  const models = useLoad(async () => {
    const m = await listModels({ bearer });
    if (!m.includes(model)) setModel(m[0] ?? "");
    return m;
  }, [bearer]);
  const cars = useLoad(() => must(pg.public.POST("/carpage", { body: { page: 1, size: 50 } })), []);
  return (
    <>
      <h1>{t("Playground")}</h1>
      <Card>
        <div class="filters">
          <Field label={t("Call with")}>
            {(id) => (
              <select id={id} value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as typeof mode)}>
                <option value="session">{t("My session")}</option>
                {fresh && <option value="fresh">{t("The key just created: {name}", { name: fresh.name })}</option>}
                <option value="key">{t("An API key I paste")}</option>
              </select>
            )}
          </Field>
          {mode === "key" && (
            <Field label={t("API key")}>
              {(id) => <input id={id} type="password" autoComplete="off" placeholder="sk-…" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />}
            </Field>
          )}
          <Field label={t("Model")}>
            {(id) => (
              <select id={id} value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} disabled={!models.data?.length}>
                {(models.data ?? []).map((m) => (
                  <option value={m}>{m}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("Account")} hint={t("Calls try this account first while it is available.")}>
            {(id) => (
              <select id={id} value={String(account)} onChange={(e) => setAccount(Number((e.target as HTMLSelectElement).value))}>
                <option value="0">{t("Any (the pool decides)")}</option>
                {(cars.data?.data.accounts ?? [])
                  .filter((c) => !c.disabled)
                  .map((c) => (
                    <option value={String(c.id)}>
                      {c.nickname || c.name} ({t(c.type)})
                    </option>
                  ))}
              </select>
            )}
          </Field>
          {account > 0 && (
            <p class="field">
              <span>{t("Account status")}</span> <AccountStatus id={account} />
            </p>
          )}
        </div>
        {cars.data?.notice && <p class="muted">{cars.data.notice}</p>}
        {models.loading && !models.data && <Loading />}
        <Alert>{models.error}</Alert>
        <ChatBox target={target} model={model} disabled={!model} />
      </Card>
    </>
  );
}
