// /app/usage: the user's own logs and charts.
import { must, pg } from "../lib/api";
import { t } from "../lib/i18n";
import { LogsView, StatsView } from "../ui/usage";

/** /app/usage */
export function Usage() {
  return (
    <>
      <h1>{t("Usage")}</h1>
      <StatsView groups={["day", "model", "key", "hour"]} load={(q) => must(pg.user.GET("/api/user/stats", { params: { query: { ...q, group_by: q.group_by as "day" } } }))} />
      <LogsView
        load={(f, cursor) => {
          const { user_id: _u, channel_id: _c, ...own } = f;
          return must(pg.user.GET("/api/user/logs", { params: { query: { ...own, cursor, limit: 20 } } }));
        }}
      />
    </>
  );
}
