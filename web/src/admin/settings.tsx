// /admin/settings: every runtime setting the server returns, as a form of its type; the daily
// check-in's settings together; the object settings with their own editors (the channel each
// provider's contributed accounts join: provider → channel picker). Only changed values are
// sent, and the server's validation message is shown as it words it.
import { useEffect, useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type AdminSchema } from "../lib/api";
import { t } from "../lib/i18n";
import { ActionState, Alert, Button, Card, Loading } from "../ui/kit";
import { SpecFields, type Draft, type Spec } from "../ui/form";

type Settings = AdminSchema<"Settings">;

/** The settings shown together under "Daily check-in" (check-in days are cut in the time zone). */
const checkInKeys = ["check_in_enabled", "check_in_min_reward", "check_in_max_reward", "site_time_zone"];

/** Providers a contributed account may name; an OpenAI-compatible provider is typed by name. */
const providers = ["openai", "anthropic", "gemini"];

/** A setting's label: its translation, else its key in words. */
function label(key: string): string {
  const words = key.replace(/_/g, " ");
  const s = t(words);
  return s === words ? words.charAt(0).toUpperCase() + words.slice(1) : s;
}

/** The form fields of the scalar settings among keys. */
function specsOf(values: Record<string, unknown>, keys: string[]): Spec[] {
  return keys
    .filter((k) => typeof values[k] !== "object" || values[k] === null)
    .map((k) => {
      const v = values[k];
      return {
        key: k,
        label: label(k),
        type: typeof v === "boolean" ? "checkbox" : typeof v === "number" ? "number" : k.endsWith("_url") ? "url" : "text",
        hint: k === "site_time_zone" ? t("An IANA name such as Asia/Shanghai; empty means UTC.") : undefined,
      };
    });
}

/** One provider → channel row of the contributed-account editor. */
interface Pair {
  provider: string;
  channel: string;
}

const pairsOf = (m: Record<string, number> | undefined): Pair[] =>
  Object.entries(m ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([provider, id]) => ({ provider, channel: String(id) }));

/** The map of the rows (blank rows left out), or the reason it cannot be sent. */
function mapOf(pairs: Pair[]): { map?: Record<string, number>; error?: string } {
  const map: Record<string, number> = {};
  for (const p of pairs) {
    const name = p.provider.trim().toLowerCase();
    if (!name && !p.channel) continue;
    if (!name) return { error: t("Name the provider of every row.") };
    if (!p.channel) return { error: t("Pick a channel for {provider}.", { provider: name }) };
    if (name in map) return { error: t("{provider} is listed twice.", { provider: name }) };
    map[name] = Number(p.channel);
  }
  return { map };
}

const same = (a: Record<string, number>, b: Record<string, number>) => JSON.stringify(pairsOf(a)) === JSON.stringify(pairsOf(b));

/** /admin/settings */
export function Settings() {
  const cur = useLoad(() => must(pg.admin.GET("/api/settings")), []);
  const channels = useLoad(async () => (await must(pg.admin.GET("/api/channels"))).items, []);
  const [draft, setDraft] = useState<Draft>({});
  const [pairs, setPairs] = useState<Pair[]>([]);
  const save = useAction();
  const values = cur.data as Record<string, unknown> | undefined;
  useEffect(() => {
    if (!cur.data) return;
    const d: Draft = {};
    for (const [k, v] of Object.entries(cur.data)) d[k] = typeof v === "boolean" ? v : v === null || v === undefined ? "" : String(v);
    setDraft(d);
    setPairs(pairsOf(cur.data.contributed_account_channels));
  }, [cur.data]);
  if (!values || !cur.data) return cur.error ? <Alert>{cur.error}</Alert> : <Loading />;
  const settings: Settings = cur.data;
  const general = Object.keys(values).filter((k) => !checkInKeys.includes(k));
  const submit = (e: Event) => {
    e.preventDefault();
    void save.run(async () => {
      const body: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(values)) {
        if (typeof v === "object" && v !== null) continue;
        const d = draft[k];
        const next = typeof v === "number" ? Number(d) : typeof v === "boolean" ? d === true : String(d ?? "");
        if (next !== v) body[k] = next;
      }
      const m = mapOf(pairs);
      if (m.error) throw new Error(m.error);
      if (m.map && !same(m.map, settings.contributed_account_channels)) body.contributed_account_channels = m.map;
      if (Object.keys(body).length === 0) return t("Nothing changed.");
      await must(pg.admin.PUT("/api/settings", { body }));
      cur.reload();
      return t("Saved.");
    }, (n) => n);
  };
  const setPair = (i: number, p: Partial<Pair>) => setPairs(pairs.map((x, j) => (j === i ? { ...x, ...p } : x)));
  return (
    <>
      <h1>{t("Settings")}</h1>
      <form class="stack" onSubmit={submit}>
        <Card title={t("General")}>
          <SpecFields specs={specsOf(values, general)} draft={draft} onChange={setDraft} editing />
        </Card>
        <Card title={t("Daily check-in")}>
          <p class="muted">{t("Users check in once a day for a random reward between the two figures (quota units); days are cut in the site's time zone.")}</p>
          <SpecFields specs={specsOf(values, checkInKeys)} draft={draft} onChange={setDraft} editing />
        </Card>
        <Card title={t("Contributed accounts")}>
          <p class="muted">{t("The channel each provider's user-contributed accounts join. A provider not listed cannot be contributed.")}</p>
          <Alert>{channels.error}</Alert>
          <datalist id="providers">
            {providers.map((p) => (
              <option value={p} />
            ))}
          </datalist>
          <ul class="pairs" aria-label={t("Contributed accounts")}>
            {pairs.map((p, i) => (
              <li class="row" key={i}>
                <input
                  aria-label={t("Provider {n}", { n: i + 1 })}
                  list="providers"
                  maxLength={64}
                  placeholder={t("provider")}
                  value={p.provider}
                  onInput={(e) => setPair(i, { provider: (e.target as HTMLInputElement).value })}
                />
                <span aria-hidden="true">→</span>
                <select aria-label={t("Channel of provider {n}", { n: i + 1 })} value={p.channel} onChange={(e) => setPair(i, { channel: (e.target as HTMLSelectElement).value })}>
                  <option value="">{t("Pick a channel")}</option>
                  {channels.data?.map((c) => (
                    <option value={String(c.id)}>{`${c.name} (#${c.id}, ${c.type})`}</option>
                  ))}
                  {p.channel && !channels.data?.some((c) => String(c.id) === p.channel) && <option value={p.channel}>{t("channel #{id}", { id: p.channel })}</option>}
                </select>
                <Button kind="danger" onClick={() => setPairs(pairs.filter((_, j) => j !== i))}>
                  {t("Remove")}
                </Button>
              </li>
            ))}
          </ul>
          {pairs.length === 0 && <p class="muted">{t("No provider may be contributed.")}</p>}
          <Button onClick={() => setPairs([...pairs, { provider: "", channel: "" }])}>{t("Add a provider")}</Button>
        </Card>
        <ActionState a={save} />
        <div class="row end">
          <Button kind="primary" type="submit" busy={save.busy}>
            {t("Save")}
          </Button>
        </div>
      </form>
    </>
  );
}
