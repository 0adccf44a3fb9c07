// /admin/logs (filters, CSV export), /admin/stats (charts by day, model, channel, user, with
// errors and latency; channel usage) and /admin/settings (every runtime setting; the server's
// validation messages shown as it words them).
import { useEffect, useState } from "preact/hooks";
import { must, pg, useAction, useLoad } from "../lib/api";
import { num, t } from "../lib/i18n";
import { ActionState, Alert, Button, Card, Loading, Table } from "../ui/kit";
import { SpecFields, type Draft, type Spec } from "../ui/form";
import { LogsView, StatsView, type LogFilter } from "../ui/usage";

/** /admin/logs */
export function Logs() {
  const exp = useAction();
  const [filter, setFilter] = useState<LogFilter>({});
  return (
    <>
      <h1>{t("Logs")}</h1>
      <LogsView
        admin
        onFilter={setFilter}
        load={(f, cursor) => must(pg.admin.GET("/api/logs", { params: { query: { ...f, cursor, limit: 20 } } }))}
      />
      <Card title={t("Export")}>
        <p class="muted">{t("Every log matching the filters above, as CSV.")}</p>
        <Button
          busy={exp.busy}
          onClick={() =>
            void exp.run(async () => {
              const blob = await must(pg.admin.GET("/api/logs/export", { params: { query: filter }, parseAs: "blob" }));
              const a = document.createElement("a");
              a.href = URL.createObjectURL(blob as Blob);
              a.download = "usage-logs.csv";
              a.click();
              setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
            })
          }
        >
          {t("Export CSV")}
        </Button>
        <ActionState a={exp} />
      </Card>
    </>
  );
}

/** /admin/stats */
export function Stats() {
  const usage = useLoad(() => must(pg.admin.GET("/api/channel-usage")), []);
  return (
    <>
      <h1>{t("Statistics")}</h1>
      <StatsView admin groups={["day", "model", "channel", "user", "hour", "key"]} load={(q) => must(pg.admin.GET("/api/stats", { params: { query: q } }))} />
      <Card title={t("Channel usage")}>
        <Alert>{usage.error}</Alert>
        {usage.loading && !usage.data ? (
          <Loading />
        ) : (
          <Table
            label={t("Channel usage")}
            rows={usage.data?.items}
            rowKey={(c) => c.channel_id}
            cols={[
              { label: t("Channel"), cell: (c) => c.name },
              { label: t("Calls"), cell: (c) => num(c.requests), num: true },
              { label: t("Succeeded"), cell: (c) => num(c.succeeded), num: true },
              { label: t("Failed"), cell: (c) => num(c.failed), num: true },
              { label: t("Tokens"), cell: (c) => num(c.prompt_tokens + c.completion_tokens), num: true },
              { label: t("Cost (quota)"), cell: (c) => num(c.quota), num: true },
            ]}
          />
        )}
      </Card>
    </>
  );
}

/** A setting's label: its translation, else its key in words. */
function label(key: string): string {
  const words = key.replace(/_/g, " ");
  const s = t(words);
  return s === words ? words.charAt(0).toUpperCase() + words.slice(1) : s;
}

/** /admin/settings */
export function Settings() {
  const cur = useLoad(() => must(pg.admin.GET("/api/settings")), []);
  const [draft, setDraft] = useState<Draft>({});
  const save = useAction();
  const values = cur.data as Record<string, unknown> | undefined;
  useEffect(() => {
    if (!values) return;
    const d: Draft = {};
    for (const [k, v] of Object.entries(values)) d[k] = typeof v === "boolean" ? v : v === null || v === undefined ? "" : String(v);
    setDraft(d);
  }, [cur.data]);
  if (!values) return cur.error ? <Alert>{cur.error}</Alert> : <Loading />;
  const specs: Spec[] = Object.entries(values)
    .filter(([, v]) => typeof v !== "object" || v === null)
    .map(([k, v]) => ({
      key: k,
      label: label(k),
      type: typeof v === "boolean" ? "checkbox" : typeof v === "number" ? "number" : k.endsWith("_url") ? "url" : "text",
    }));
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) {
      const d = draft[k];
      const next = typeof v === "number" ? Number(d) : typeof v === "boolean" ? d === true : String(d ?? "");
      if (next !== v) body[k] = next;
    }
    void save.run(async () => {
      await must(pg.admin.PUT("/api/settings", { body }));
      cur.reload();
    }, t("Saved."));
  };
  return (
    <>
      <h1>{t("Settings")}</h1>
      <Card>
        <form class="stack" onSubmit={submit}>
          <SpecFields specs={specs} draft={draft} onChange={setDraft} editing />
          <ActionState a={save} />
          <div class="row end">
            <Button kind="primary" type="submit" busy={save.busy}>
              {t("Save")}
            </Button>
          </div>
        </form>
      </Card>
    </>
  );
}
