// /admin/remote: remote account sources (seed 003) with sync and the import job's progress,
// and /admin/hooks: hook deliveries with retry.
import { useEffect, useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Alert, Badge, Button, Card, Field, Loading, Pager, Table } from "../ui/kit";
import { bool, int, opts, str, type Draft } from "../ui/form";
import { Resource } from "../ui/resource";

type Source = AdminSchema<"RemoteSource">;
type Job = AdminSchema<"ImportJob">;

function JobProgress({ job }: { job: Job }) {
  const done = job.added + job.skipped + job.failed;
  return (
    <div class="job" role="status" aria-live="polite">
      <Badge value={job.status} />{" "}
      {job.status === "running" && <progress max={job.total || undefined} value={job.total ? done : undefined} aria-label={t("Import progress")} />}{" "}
      <span class="small">{t("{total} total · {added} added · {skipped} skipped · {removed} removed · {failed} failed", { total: job.total, added: job.added, skipped: job.skipped, removed: job.removed, failed: job.failed })}</span>
      {job.errors.length > 0 && <div class="muted small">{job.errors.slice(0, 3).join("; ")}</div>}
    </div>
  );
}

function Sync({ source, onDone }: { source: Source; onDone: () => void }) {
  const [job, setJob] = useState<Job | null>(source.import_job && "job_id" in source.import_job ? source.import_job : null);
  const a = useAction();
  useEffect(() => {
    if (job?.status !== "running") return;
    const id = setTimeout(async () => {
      try {
        const s = await must(pg.admin.GET("/api/remote-account/sources/{source_id}/sync", { params: { path: { source_id: source.id } } }));
        if (s.import_job && "job_id" in s.import_job) setJob(s.import_job);
        if (s.import_job && "status" in s.import_job && s.import_job.status !== "running") onDone();
      } catch {
        /* the next render polls again */
      }
    }, 700);
    return () => clearTimeout(id);
  }, [job]);
  return (
    <div class="stack">
      <Button
        busy={a.busy || job?.status === "running"}
        onClick={() => void a.run(async () => setJob((await must(pg.admin.POST("/api/remote-account/sources/{source_id}/sync", { params: { path: { source_id: source.id } } }))).import_job))}
      >
        {t("Sync now")}
      </Button>
      <ActionState a={a} />
      {job && <JobProgress job={job} />}
    </div>
  );
}

function sourceBody(d: Draft) {
  return {
    name: str(d, "name"),
    url: str(d, "url"),
    method: str(d, "method") as "GET" | "POST",
    auth_header: str(d, "auth_header") || undefined,
    ...(str(d, "auth_token") ? { auth_token: str(d, "auth_token") } : {}),
    ...(str(d, "bearer_token") ? { bearer_token: str(d, "bearer_token") } : {}),
    provider: str(d, "provider") as AdminSchema<"RemoteProvider">,
    sync_strategy: str(d, "sync_strategy") as AdminSchema<"RemoteStrategy">,
    interval_seconds: int(d, "interval_seconds") ?? null,
    channel_id: int(d, "channel_id") ?? null,
    enabled: bool(d, "enabled"),
  };
}

/** /admin/remote */
export function Remote() {
  return (
    <>
      <h1>{t("Remote account sources")}</h1>
      <Resource<Source>
        title={t("Sources")}
        noun={t("source")}
        load={async () => (await must(pg.admin.GET("/api/remote-account/sources"))).sources}
        rowKey={(s) => s.id}
        name={(s) => s.name}
        cols={[
          { label: t("Name"), cell: (s) => <><strong>{s.name}</strong><div class="muted small">{s.method} {s.url}</div></> },
          { label: t("Strategy"), cell: (s) => t(s.sync_strategy) },
          { label: t("Every"), cell: (s) => (s.interval_seconds ? `${s.interval_seconds}s` : t("by hand")) },
          { label: t("Secrets"), cell: (s) => [s.has_auth_token && t("auth token set"), s.has_bearer_token && t("bearer token set")].filter(Boolean).join(", ") || "—" },
          { label: t("Status"), cell: (s) => <Badge value={s.enabled ? "active" : "disabled"} /> },
          { label: t("Last sync"), cell: (s) => when(s.last_sync_at || null) },
        ]}
        specs={[
          { key: "name", label: t("Name"), required: true },
          { key: "url", label: t("URL"), type: "url", required: true },
          { key: "method", label: t("Method"), type: "select", options: [{ value: "GET", label: "GET" }, { value: "POST", label: "POST" }] },
          { key: "auth_header", label: t("Auth header name") },
          { key: "auth_token", label: t("Auth token"), type: "password", hint: t("Write-only: empty keeps the current one.") },
          { key: "bearer_token", label: t("Bearer token"), type: "password", hint: t("Write-only: empty keeps the current one.") },
          { key: "provider", label: t("Provider"), type: "select", options: [{ value: "", label: t("auto") }, { value: "gpt", label: "gpt" }, { value: "grok", label: "grok" }] },
          { key: "sync_strategy", label: t("Strategy"), type: "select", options: opts("merge", "replace") },
          { key: "interval_seconds", label: t("Sync every (seconds)"), type: "number", hint: t("Empty: only by hand.") },
          { key: "channel_id", label: t("Channel id"), type: "number" },
          { key: "enabled", label: t("Enabled"), type: "checkbox" },
        ]}
        blank={{ name: "", url: "", method: "GET", auth_header: "", auth_token: "", bearer_token: "", provider: "", sync_strategy: "merge", interval_seconds: "", channel_id: "", enabled: true }}
        draftOf={(s) => ({
          name: s.name,
          url: s.url,
          method: s.method,
          auth_header: s.auth_header,
          auth_token: "",
          bearer_token: "",
          provider: s.provider,
          sync_strategy: s.sync_strategy,
          interval_seconds: s.interval_seconds ? String(s.interval_seconds) : "",
          channel_id: s.channel_id ? String(s.channel_id) : "",
          enabled: s.enabled,
        })}
        create={(d) => must(pg.admin.POST("/api/remote-account/sources", { body: sourceBody(d) }))}
        update={(s, d) => must(pg.admin.POST("/api/remote-account/sources/{source_id}", { params: { path: { source_id: s.id } }, body: sourceBody(d) }))}
        remove={(s) => must(pg.admin.DELETE("/api/remote-account/sources/{source_id}", { params: { path: { source_id: s.id } } }))}
        actions={(s, list) => <Sync source={s} onDone={list.reload} />}
      />
    </>
  );
}

/** /admin/hooks */
export function HookDeliveries() {
  const [status, setStatus] = useState<"" | AdminSchema<"HookDeliveryStatus">>("");
  const [page, setPage] = useState(1);
  const list = useLoad(() => must(pg.admin.GET("/api/hook-deliveries", { params: { query: { page, page_size: 20, status: status || undefined } } })), [status, page]);
  const a = useAction();
  return (
    <>
      <h1>{t("Hook deliveries")}</h1>
      <Card>
        <div class="filters">
          <Field label={t("Status")}>
            {(id) => (
              <select id={id} value={status} onChange={(e) => (setPage(1), setStatus((e.target as HTMLSelectElement).value as typeof status))}>
                <option value="">{t("any")}</option>
                {opts("pending", "delivered", "dead").map((o) => (
                  <option value={o.value}>{o.label}</option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <ActionState a={a} />
        <Alert>{list.error}</Alert>
        {list.loading && !list.data ? (
          <Loading />
        ) : (
          <Table
            label={t("Hook deliveries")}
            rows={list.data?.items}
            rowKey={(d) => d.id}
            cols={[
              { label: "ID", cell: (d) => d.id, num: true },
              { label: t("Kind"), cell: (d) => d.kind },
              { label: t("Host"), cell: (d) => d.host },
              { label: t("Status"), cell: (d) => <Badge value={d.status} /> },
              { label: t("Attempts"), cell: (d) => num(d.attempts), num: true },
              { label: t("Last error"), cell: (d) => d.last_error || "—" },
              { label: t("Next try"), cell: (d) => (d.status === "pending" ? when(d.next_at) : "—") },
              { label: t("Delivered"), cell: (d) => when(d.delivered_at) },
              {
                label: t("Actions"),
                cell: (d) =>
                  d.status === "dead" && (
                    <Button
                      busy={a.busy}
                      onClick={() =>
                        void a.run(async () => {
                          await must(pg.admin.POST("/api/hook-deliveries/{id}/retry", { params: { path: { id: d.id } } }));
                          list.reload();
                        }, t("Queued for another try."))
                      }
                    >
                      {t("Retry")}
                    </Button>
                  ),
              },
            ]}
          />
        )}
        {list.data && <Pager page={list.data.page} pageSize={list.data.page_size} total={list.data.total} onPage={setPage} />}
      </Card>
    </>
  );
}
