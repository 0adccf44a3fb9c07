// /app/keys: API keys — create (the key shown once), description, models, quota, expiry, IP
// allow-list, status, rotate, delete.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type UserSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { freshKey } from "../lib/keys";
import { ActionState, FormButtons, Alert, Badge, Button, Card, Dialog, Field, Loading, Table } from "../ui/kit";
import { SecretOnce } from "../ui/widgets";
import { isoOf } from "../ui/usage";

type Key = UserSchema<"ApiKey">;

/** Splits a list typed one per line or comma-separated. */
export function list(s: string): string[] {
  return s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** A datetime-local value for an ISO time (local time), or "". */
export function localOf(iso?: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

interface Draft {
  name: string;
  description: string;
  models: string;
  quota: string;
  expires: string;
  ips: string;
  status: "active" | "disabled";
}

const blank: Draft = { name: "", description: "", models: "", quota: "", expires: "", ips: "", status: "active" };

function draftOf(k: Key): Draft {
  return {
    name: k.name,
    description: k.description,
    models: (k.allowed_models ?? []).join(", "),
    quota: k.quota_limit === null ? "" : String(k.quota_limit),
    expires: localOf(k.expires_at),
    ips: (k.allowed_ips ?? []).join(", "),
    status: k.status,
  };
}

function KeyForm(props: { draft: Draft; edit: boolean; onChange: (d: Draft) => void }) {
  const d = props.draft;
  const set = (k: keyof Draft) => (e: Event) => props.onChange({ ...d, [k]: (e.target as HTMLInputElement).value });
  return (
    <div class="form-grid">
      <Field label={t("Name")}>{(id) => <input id={id} required maxLength={64} value={d.name} onInput={set("name")} />}</Field>
      <Field label={t("Description")}>{(id) => <input id={id} maxLength={500} value={d.description} onInput={set("description")} />}</Field>
      <Field label={t("Allowed models")} hint={t("Comma-separated; empty allows every model.")}>
        {(id) => <input id={id} value={d.models} onInput={set("models")} placeholder="gpt-4o, claude-*" />}
      </Field>
      <Field label={t("Quota limit")} hint={t("Quota units; empty for no limit.")}>
        {(id) => <input id={id} type="number" min={0} step={1} value={d.quota} onInput={set("quota")} />}
      </Field>
      <Field label={t("Expires")} hint={t("Empty for never.")}>
        {(id) => <input id={id} type="datetime-local" value={d.expires} onInput={set("expires")} />}
      </Field>
      <Field label={t("IP allow-list")} hint={t("Comma-separated addresses or CIDR ranges; empty allows any.")}>
        {(id) => <input id={id} value={d.ips} onInput={set("ips")} placeholder="203.0.113.0/24" />}
      </Field>
      {props.edit && (
        <Field label={t("Status")}>
          {(id) => (
            <select id={id} value={d.status} onChange={set("status")}>
              <option value="active">{t("active")}</option>
              <option value="disabled">{t("disabled")}</option>
            </select>
          )}
        </Field>
      )}
    </div>
  );
}

function body(d: Draft) {
  return {
    name: d.name.trim(),
    description: d.description,
    // An empty list is sent as null: "any" (an empty list would allow nothing).
    allowed_models: list(d.models).length ? list(d.models) : null,
    quota_limit: d.quota === "" ? null : Number(d.quota),
    expires_at: isoOf(d.expires) ?? null,
    allowed_ips: list(d.ips).length ? list(d.ips) : null,
  };
}

/** /app/keys */
export function Keys() {
  const keys = useLoad(() => must(pg.user.GET("/api/user/api-keys")), []);
  const [editing, setEditing] = useState<Key | "new" | null>(null);
  const [draft, setDraft] = useState<Draft>(blank);
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const save = useAction();
  const row = useAction();
  const shown = (k: UserSchema<"ApiKeySecret">) => {
    setSecret({ name: k.name, key: k.key });
    freshKey.set({ id: k.id, name: k.name, key: k.key });
  };
  const submit = (e: Event) => {
    e.preventDefault();
    void save.run(async () => {
      if (editing === "new") shown(await must(pg.user.POST("/api/user/api-keys", { body: body(draft) })));
      else if (editing) await must(pg.user.PUT("/api/user/api-keys/{id}", { params: { path: { id: editing.id } }, body: { ...body(draft), status: draft.status } }));
      setEditing(null);
      keys.reload();
    });
  };
  return (
    <>
      <h1>{t("API keys")}</h1>
      {secret && <SecretOnce label={t("New API key “{name}”", { name: secret.name })} secret={secret.key} onDone={() => setSecret(null)} />}
      <Card
        title={t("Your keys")}
        actions={
          <Button kind="primary" onClick={() => (save.clear(), setDraft(blank), setEditing("new"))}>
            {t("Create a key")}
          </Button>
        }
      >
        <ActionState a={row} />
        <Alert>{keys.error}</Alert>
        {keys.loading && !keys.data ? (
          <Loading />
        ) : (
          <Table
            label={t("API keys")}
            rows={keys.data?.items}
            rowKey={(k) => k.id}
            empty={t("No keys yet: create one to call the gateway.")}
            cols={[
              { label: t("Name"), cell: (k) => <><strong>{k.name}</strong>{k.description && <div class="muted small">{k.description}</div>}</> },
              { label: t("Key"), cell: (k) => <code>{k.key_hint}</code> },
              { label: t("Status"), cell: (k) => <Badge value={k.status} /> },
              { label: t("Models"), cell: (k) => (k.allowed_models?.length ? k.allowed_models.join(", ") : t("all")) },
              { label: t("Used (quota)"), cell: (k) => `${num(k.used_quota)}${k.quota_limit !== null ? ` / ${num(k.quota_limit)}` : ""}`, num: true },
              { label: t("Calls"), cell: (k) => num(k.request_count), num: true },
              { label: t("Expires"), cell: (k) => (k.expires_at ? when(k.expires_at) : t("never")) },
              { label: t("Last used"), cell: (k) => when(k.last_used_at) },
              {
                label: t("Actions"),
                cell: (k) => (
                  <div class="row">
                    <Button onClick={() => (save.clear(), setDraft(draftOf(k)), setEditing(k))}>{t("Edit")}</Button>
                    <Button
                      busy={row.busy}
                      onClick={() =>
                        confirm(t("Rotate “{name}”? The old secret stops working at once.", { name: k.name })) &&
                        void row.run(async () => shown(await must(pg.user.POST("/api/user/api-key/rotate", { body: { id: k.id } }))))
                      }
                    >
                      {t("Rotate")}
                    </Button>
                    <Button
                      kind="danger"
                      busy={row.busy}
                      onClick={() =>
                        confirm(t("Delete “{name}”? Calls with it stop working.", { name: k.name })) &&
                        void row.run(async () => {
                          await must(pg.user.DELETE("/api/user/api-keys/{id}", { params: { path: { id: k.id } } }));
                          keys.reload();
                        }, t("Key deleted."))
                      }
                    >
                      {t("Delete")}
                    </Button>
                  </div>
                ),
              },
            ]}
          />
        )}
      </Card>
      <Dialog title={editing === "new" ? t("Create a key") : t("Edit key")} open={editing !== null} onClose={() => setEditing(null)} wide>
        <form onSubmit={submit} class="stack">
          <KeyForm draft={draft} edit={editing !== "new"} onChange={setDraft} />
          <ActionState a={save} />
          <FormButtons onCancel={() => setEditing(null)} busy={save.busy} label={editing === "new" ? t("Create") : t("Save")} />
        </form>
      </Dialog>
    </>
  );
}
