// /admin/codes: redemption codes. A batch is created with its codes shown once (copy, download),
// the list is filtered by batch and status and paged, a code is edited (disabled, uses, expiry)
// or deleted, and a batch is exported as CSV (the only other place its codes appear in full).
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Alert, Badge, Button, Card, DeleteButton, Dialog, Field, FormButtons, Loading, Pager, Table, download } from "../ui/kit";
import { SpecFields, bool, int, str, type Draft } from "../ui/form";
import { isoOf } from "../ui/usage";
import { localOf } from "../user/keys";

type Code = AdminSchema<"RedemptionCode">;
type Status = AdminSchema<"RedemptionCodeStatus">;

const statuses: Status[] = ["active", "used", "expired", "disabled"];
const blank: Draft = { name: "", count: "10", quota: "", plan_id: "", max_uses: "1", expires_at: "" };
const PAGE = 20;

/** A file name made of a batch name. */
const fileOf = (batch: string) => `redemption-codes-${batch.replace(/[^\w.-]+/g, "_")}`;

/** /admin/codes */
export function Codes() {
  const [name, setName] = useState("");
  const [status, setStatus] = useState("");
  const [filter, setFilter] = useState<{ name: string; status: string }>({ name: "", status: "" });
  const [page, setPage] = useState(1);
  const list = useLoad(
    () =>
      must(
        pg.admin.GET("/api/redemption-codes", {
          params: { query: { name: filter.name || undefined, status: (filter.status || undefined) as Status | undefined, page, page_size: PAGE } },
        }),
      ),
    [filter, page],
  );
  const plans = useLoad(async () => (await must(pg.admin.GET("/api/plans"))).items, []);
  const planName = (id: number) => t("plan {name}", { name: plans.data?.find((p) => p.id === id)?.name ?? `#${id}` });
  const [creating, setCreating] = useState(false);
  const [draft, setDraft] = useState<Draft>(blank);
  const [batch, setBatch] = useState<AdminSchema<"RedemptionCodeBatch"> | null>(null);
  const [editing, setEditing] = useState<Code | null>(null);
  const [edit, setEdit] = useState<Draft>({});
  const create = useAction();
  const save = useAction();
  const row = useAction();
  const exp = useAction();
  const apply = (n: string, s: string) => {
    setName(n);
    setStatus(s);
    setPage(1);
    setFilter({ name: n.trim(), status: s });
  };
  const submitCreate = (e: Event) => {
    e.preventDefault();
    void create.run(async () => {
      const b = await must(
        pg.admin.POST("/api/redemption-codes", {
          body: {
            name: str(draft, "name"),
            count: int(draft, "count") ?? 0,
            ...(int(draft, "plan_id") ? { plan_id: int(draft, "plan_id") } : { quota: int(draft, "quota") ?? 0 }),
            max_uses: int(draft, "max_uses"),
            expires_at: isoOf(str(draft, "expires_at")) ?? null,
          },
        }),
      );
      setCreating(false);
      setBatch(b);
      apply(b.name, "");
    });
  };
  const submitEdit = (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    void save.run(async () => {
      await must(
        pg.admin.PUT("/api/redemption-codes/{id}", {
          params: { path: { id: editing.id } },
          body: { disabled: bool(edit, "disabled"), max_uses: int(edit, "max_uses"), expires_at: isoOf(str(edit, "expires_at")) ?? null },
        }),
      );
      setEditing(null);
      list.reload();
    });
  };
  const data = list.data;
  return (
    <>
      <h1>{t("Redemption codes")}</h1>
      {batch && <NewCodes batch={batch} onDone={() => setBatch(null)} />}
      <Card
        title={t("Codes")}
        actions={
          <Button kind="primary" onClick={() => (create.clear(), setDraft(blank), setCreating(true))}>
            {t("New batch")}
          </Button>
        }
      >
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            apply(name, status);
          }}
        >
          <Field label={t("Batch")}>{(id) => <input id={id} type="search" maxLength={64} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}</Field>
          <Field label={t("Status")}>
            {(id) => (
              <select id={id} value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
                <option value="">{t("any")}</option>
                {statuses.map((s) => (
                  <option value={s}>{t(s)}</option>
                ))}
              </select>
            )}
          </Field>
          <div class="row end">
            <Button type="submit" kind="primary" busy={list.loading}>
              {t("Apply")}
            </Button>
            <Button
              busy={exp.busy}
              disabled={!filter.name}
              title={filter.name ? undefined : t("Filter by a batch to export it.")}
              onClick={() =>
                void exp.run(async () => {
                  const csv = await must(pg.admin.GET("/api/redemption-codes/export", { params: { query: { name: filter.name } }, parseAs: "blob" }));
                  download(`${fileOf(filter.name)}.csv`, csv as Blob);
                })
              }
            >
              {t("Export batch as CSV")}
            </Button>
          </div>
        </form>
        {!filter.name && <p class="muted small">{t("Filter by a batch to export it.")}</p>}
        <ActionState a={exp} />
        <ActionState a={row} />
        <Alert>{list.error}</Alert>
        {list.loading && !data ? (
          <Loading />
        ) : (
          <Table<Code>
            label={t("Codes")}
            rows={data?.items}
            rowKey={(c) => c.id}
            empty={filter.name || filter.status ? t("No code matches these filters.") : t("No codes yet.")}
            cols={[
              { label: t("Code"), cell: (c) => <code>{c.code_hint}</code> },
              {
                label: t("Batch"),
                cell: (c) => (
                  <button type="button" class="linklike" title={t("Only this batch")} onClick={() => apply(c.name, status)}>
                    {c.name}
                  </button>
                ),
              },
              { label: t("Quota each"), cell: (c) => (c.plan_id ? planName(c.plan_id) : num(c.quota)), num: true },
              { label: t("Uses"), cell: (c) => `${num(c.used_count)} / ${num(c.max_uses)}`, num: true },
              { label: t("Status"), cell: (c) => <Badge value={c.status} tone={c.status === "active" ? "ok" : c.status === "used" ? "info" : c.status === "expired" ? "warn" : "bad"} /> },
              { label: t("Expires"), cell: (c) => (c.expires_at ? when(c.expires_at) : t("never")) },
              { label: t("Created"), cell: (c) => when(c.created_at) },
              {
                label: t("Actions"),
                cell: (c) => (
                  <div class="row">
                    <Button
                      onClick={() => {
                        save.clear();
                        setEdit({ disabled: c.status === "disabled", max_uses: String(c.max_uses), expires_at: localOf(c.expires_at) });
                        setEditing(c);
                      }}
                    >
                      {t("Edit")}
                    </Button>
                    <DeleteButton
                      a={row}
                      noun={t("code")}
                      name={c.code_hint}
                      remove={async () => {
                        await must(pg.admin.DELETE("/api/redemption-codes/{id}", { params: { path: { id: c.id } } }));
                        list.reload();
                      }}
                    />
                  </div>
                ),
              },
            ]}
          />
        )}
        {data && data.total > PAGE && <Pager page={page} pageSize={PAGE} total={data.total} onPage={setPage} />}
        {data && <p class="muted small">{t("Matching codes: {n}", { n: num(data.total) })}</p>}
      </Card>
      <Dialog title={t("New batch of codes")} open={creating} onClose={() => setCreating(false)} wide>
        <form onSubmit={submitCreate} class="stack">
          <SpecFields
            editing={false}
            draft={draft}
            onChange={setDraft}
            specs={[
              { key: "name", label: t("Batch name"), required: true, hint: t("The list's filter and the CSV export use it.") },
              { key: "count", label: t("How many codes"), type: "number", required: true, hint: t("1 to 1000.") },
              { key: "plan_id", label: t("What each code gives"), type: "select", options: [{ value: "", label: t("quota units (below)") }, ...(plans.data ?? []).map((p) => ({ value: String(p.id), label: t("the plan {name}", { name: p.name }) }))] },
              { key: "quota", label: t("Quota units each redeem credits"), type: "number", required: !int(draft, "plan_id"), hint: t("Not used when the code grants a plan.") },
              { key: "max_uses", label: t("Uses per code"), type: "number", hint: t("In all; each user redeems a code at most once.") },
              { key: "expires_at", label: t("Expires"), type: "datetime", hint: t("Empty for never.") },
            ]}
          />
          <ActionState a={create} />
          <FormButtons onCancel={() => setCreating(false)} busy={create.busy} label={t("Create")} />
        </form>
      </Dialog>
      <Dialog title={t("Edit {noun}", { noun: editing?.code_hint ?? "" })} open={editing !== null} onClose={() => setEditing(null)}>
        <form onSubmit={submitEdit} class="stack">
          <SpecFields
            editing
            draft={edit}
            onChange={setEdit}
            specs={[
              { key: "disabled", label: t("Disabled (cannot be redeemed)"), type: "checkbox" },
              { key: "max_uses", label: t("Uses per code"), type: "number", required: true, hint: t("Not below the uses so far.") },
              { key: "expires_at", label: t("Expires"), type: "datetime", hint: t("Empty for never.") },
            ]}
          />
          <ActionState a={save} />
          <FormButtons onCancel={() => setEditing(null)} busy={save.busy} label={t("Save")} />
        </form>
      </Dialog>
    </>
  );
}

/**
 * A new batch's codes, shown once: copied or downloaded, then dismissed for good (afterwards
 * only the batch's CSV export has them in full).
 */
function NewCodes(props: { batch: AdminSchema<"RedemptionCodeBatch">; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const text = props.batch.codes.join("\n") + "\n";
  return (
    <div class="secret" role="region" aria-label={t("New codes")}>
      <p>
        <strong>{t("{n} new codes in “{name}”", { n: props.batch.codes.length, name: props.batch.name })}</strong> — {t("shown only now: copy them and keep them safe.")}
      </p>
      <pre class="secret-value codes" data-testid="new-codes" tabIndex={0}>
        {text}
      </pre>
      <div class="row">
        <Button
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(text);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? t("Copied") : t("Copy all")}
        </Button>
        <Button onClick={() => download(`${fileOf(props.batch.name)}.txt`, new Blob([text], { type: "text/plain" }))}>{t("Download")}</Button>
        <Button kind="primary" onClick={props.onDone}>
          {t("I have saved them")}
        </Button>
      </div>
    </div>
  );
}
