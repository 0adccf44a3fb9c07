// Usage logs with filters and cursor pages, and usage charts (calls, tokens, cost by day and by
// model) — shared by the user's /app/usage and the administrator's logs and statistics.
import { useState } from "preact/hooks";
import { useLoad, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { Alert, Badge, Button, Card, Field, Loading, Table, type Column } from "./kit";
import { BarChart } from "./widgets";

type Log = AdminSchema<"UsageLog">;
type LogPage = AdminSchema<"UsageLogPage">;
type Stats = AdminSchema<"Stats">;

/** The filters a log list offers. */
export interface LogFilter {
  model?: string;
  status_class?: "2xx" | "4xx" | "5xx";
  request_id?: string;
  from?: string;
  to?: string;
  user_id?: number;
  channel_id?: number;
}

/** ISO time of a datetime-local input's value (local time), or undefined. */
export function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function clean(f: LogFilter): LogFilter {
  const out: LogFilter = {};
  for (const [k, v] of Object.entries(f)) if (v !== "" && v !== undefined && !(typeof v === "number" && Number.isNaN(v))) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** A usage log list with filters; admin adds the user and channel filters and columns. */
export function LogsView(props: {
  load: (f: LogFilter, cursor?: string) => Promise<LogPage>;
  admin?: boolean;
  /** Told the filters each time they are applied (the CSV export follows them). */
  onFilter?: (f: LogFilter) => void;
}) {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filter, setFilter] = useState<LogFilter>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => props.load(filter, cursor), [JSON.stringify(filter), cursor]);
  const set = (k: string) => (e: Event) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value });
  const apply = (e: Event) => {
    e.preventDefault();
    setCursors([]);
    const next = clean({
        model: draft.model?.trim(),
        status_class: (draft.status_class || undefined) as LogFilter["status_class"],
        request_id: draft.request_id?.trim(),
        from: isoOf(draft.from ?? ""),
        to: isoOf(draft.to ?? ""),
        user_id: draft.user_id ? Number(draft.user_id) : undefined,
        channel_id: draft.channel_id ? Number(draft.channel_id) : undefined,
    });
    setFilter(next);
    props.onFilter?.(next);
    page.reload();
  };
  const cols: Column<Log>[] = [
    { label: t("Time"), cell: (l) => when(l.created_at) },
    ...(props.admin ? [{ label: t("User"), cell: (l: Log) => l.user_id, num: true }] : []),
    { label: t("Model"), cell: (l) => (l.upstream_model && l.upstream_model !== l.model ? `${l.model} → ${l.upstream_model}` : l.model) },
    { label: t("Endpoint"), cell: (l) => `${l.endpoint}${l.stream ? " ⇢" : ""}` },
    { label: t("Status"), cell: (l) => <Badge value={String(l.status_code)} tone={l.status_code < 400 ? "ok" : l.status_code < 500 ? "warn" : "bad"} /> },
    { label: t("Input tokens"), cell: (l) => num(l.prompt_tokens), num: true },
    { label: t("Output tokens"), cell: (l) => num(l.completion_tokens), num: true },
    { label: t("Cost (quota)"), cell: (l) => num(l.quota), num: true },
    { label: t("Duration"), cell: (l) => `${num(l.duration_ms)} ms`, num: true },
    ...(props.admin ? [{ label: t("Channel"), cell: (l: Log) => l.channel_id ?? "—", num: true }] : []),
    { label: t("Request id"), cell: (l) => <code class="small">{l.request_id}</code> },
  ];
  return (
    <Card title={t("Usage logs")}>
      <form class="filters" onSubmit={apply} aria-label={t("Filters")}>
        <Field label={t("Model")}>{(id) => <input id={id} value={draft.model ?? ""} onInput={set("model")} />}</Field>
        <Field label={t("Status")}>
          {(id) => (
            <select id={id} value={draft.status_class ?? ""} onChange={set("status_class")}>
              <option value="">{t("any")}</option>
              <option value="2xx">2xx</option>
              <option value="4xx">4xx</option>
              <option value="5xx">5xx</option>
            </select>
          )}
        </Field>
        <Field label={t("From")}>{(id) => <input id={id} type="datetime-local" value={draft.from ?? ""} onInput={set("from")} />}</Field>
        <Field label={t("To")}>{(id) => <input id={id} type="datetime-local" value={draft.to ?? ""} onInput={set("to")} />}</Field>
        <Field label={t("Request id")}>{(id) => <input id={id} value={draft.request_id ?? ""} onInput={set("request_id")} />}</Field>
        {props.admin && <Field label={t("User id")}>{(id) => <input id={id} inputMode="numeric" value={draft.user_id ?? ""} onInput={set("user_id")} />}</Field>}
        {props.admin && <Field label={t("Channel id")}>{(id) => <input id={id} inputMode="numeric" value={draft.channel_id ?? ""} onInput={set("channel_id")} />}</Field>}
        <div class="row end">
          <Button kind="primary" type="submit" busy={page.loading}>
            {t("Apply")}
          </Button>
        </div>
      </form>
      <Alert>{page.error}</Alert>
      {page.loading && !page.data ? <Loading /> : <Table label={t("Usage logs")} rows={page.data?.items} cols={cols} rowKey={(l) => l.id} empty={t("No calls match.")} />}
      <nav class="row pager" aria-label={t("Pages")}>
        <Button disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          {t("Previous")}
        </Button>
        <Button disabled={!page.data?.next_cursor} onClick={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])}>
          {t("Next")}
        </Button>
      </nav>
    </Card>
  );
}

/** Days ago as a local date input value (yyyy-mm-dd). */
function dayInput(daysAgo: number): string {
  const d = new Date(Date.now() - daysAgo * 86400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** The range and grouping of a stats query. */
export interface StatsQuery {
  from: string;
  to: string;
  tz: string;
  group_by: "day" | "model" | "channel" | "user" | "hour" | "key";
}

/** Usage charts: calls, tokens and cost (and errors and latency for admins) by a dimension. */
export function StatsView(props: { load: (q: StatsQuery) => Promise<Stats>; groups: StatsQuery["group_by"][]; admin?: boolean }) {
  const [from, setFrom] = useState(dayInput(6));
  const [to, setTo] = useState(dayInput(-1));
  const [group, setGroup] = useState<StatsQuery["group_by"]>(props.groups[0]!);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const q: StatsQuery = { from: new Date(from + "T00:00:00").toISOString(), to: new Date(to + "T00:00:00").toISOString(), tz, group_by: group };
  const stats = useLoad(() => props.load(q), [from, to, group]);
  const rows = stats.data?.items ?? [];
  const bars = (f: (r: (typeof rows)[number]) => number) => rows.map((r) => ({ label: r.key || "—", value: f(r) }));
  const total = rows.reduce((s, r) => ({ calls: s.calls + r.calls, tokens: s.tokens + r.prompt_tokens + r.completion_tokens, quota: s.quota + r.quota, errors: s.errors + r.errors.total }), { calls: 0, tokens: 0, quota: 0, errors: 0 });
  return (
    <Card title={t("Statistics")}>
      <div class="filters">
        <Field label={t("From")}>{(id) => <input id={id} type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />}</Field>
        <Field label={t("To (exclusive)")}>{(id) => <input id={id} type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />}</Field>
        <Field label={t("Group by")}>
          {(id) => (
            <select id={id} value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value as StatsQuery["group_by"])}>
              {props.groups.map((g) => (
                <option value={g}>{t(g)}</option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Alert>{stats.error}</Alert>
      {stats.loading && !stats.data && <Loading />}
      <dl class="figures">
        <div><dt>{t("Calls")}</dt><dd data-testid="stat-calls">{num(total.calls)}</dd></div>
        <div><dt>{t("Tokens")}</dt><dd>{num(total.tokens)}</dd></div>
        <div><dt>{t("Cost (quota)")}</dt><dd>{num(total.quota)}</dd></div>
        {props.admin && <div><dt>{t("Errors")}</dt><dd>{num(total.errors)}</dd></div>}
      </dl>
      <div class="charts">
        <BarChart title={t("Calls")} bars={bars((r) => r.calls)} />
        <BarChart title={t("Tokens")} bars={bars((r) => r.prompt_tokens + r.completion_tokens)} />
        <BarChart title={t("Cost (quota)")} bars={bars((r) => r.quota)} />
        {props.admin && <BarChart title={t("Errors")} bars={bars((r) => r.errors.total)} />}
        {props.admin && <BarChart title={t("Latency p95 (ms)")} bars={bars((r) => r.latency_ms.p95 ?? 0)} />}
        {props.admin && <BarChart title={t("First token p95 (ms)")} bars={bars((r) => r.first_token_ms.p95 ?? 0)} />}
      </div>
    </Card>
  );
}
