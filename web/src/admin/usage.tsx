// /admin/logs (filters, CSV export) and /admin/stats (charts by day, model, channel, user, with
// errors and latency; channel usage).
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad } from "../lib/api";
import { num, t } from "../lib/i18n";
import { ActionState, Alert, Button, Card, Loading, Table, download } from "../ui/kit";
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
              download("usage-logs.csv", blob as Blob);
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
