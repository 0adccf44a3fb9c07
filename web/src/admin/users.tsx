// /admin/users: search, status, role, tier and plan expiry, group, balance adjustment, the
// user's sessions (each ended, or all), delete.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, FormButtons, Alert, Badge, Button, Card, DeleteButton, Dialog, Field, Loading, Pager, Table } from "../ui/kit";
import { SpecFields, int, opts, str, type Draft } from "../ui/form";
import { isoOf } from "../ui/usage";
import { localOf } from "../user/keys";
import { SessionTable, type Session } from "../ui/sessions";

type User = AdminSchema<"User">;

const statuses = opts("active", "muted", "disabled");

/** A user's live sessions: each can be ended, or all at once; they stop on every instance. */
function UserSessions({ user, onClose }: { user: User | null; onClose: () => void }) {
  const list = useLoad(async () => (user ? (await must(pg.admin.GET("/api/users/{id}/sessions", { params: { path: { id: user.id } } }))).items : []), [user?.id]);
  const a = useAction();
  const end = (s: Session) =>
    void a.run(async () => {
      await must(pg.admin.DELETE("/api/users/{id}/sessions/{session_id}", { params: { path: { id: user!.id, session_id: s.id } } }));
      list.reload();
    }, t("The session has ended."));
  const endAll = () =>
    confirm(t("End every session of {name}?", { name: user?.username ?? "" })) &&
    void a.run(async () => {
      await must(pg.admin.DELETE("/api/users/{id}/sessions", { params: { path: { id: user!.id } } }));
      list.reload();
    }, t("Every session has ended."));
  return (
    <Dialog title={t("Sessions of {name}", { name: user?.username ?? "" })} open={user !== null} onClose={onClose} wide>
      <div class="stack">
        <p class="muted">{t("Ending a session signs that browser or app out at once; API keys keep working.")}</p>
        <Alert>{list.error}</Alert>
        <ActionState a={a} />
        {list.loading && !list.data ? <Loading /> : <SessionTable rows={list.data} busy={a.busy} onEnd={end} />}
        <div class="row end">
          <Button kind="danger" busy={a.busy} disabled={!list.data?.length} onClick={endAll}>
            {t("End all sessions")}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

/** /admin/users */
export function Users() {
  const [q, setQ] = useState("");
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState("");
  const [page, setPage] = useState(1);
  const users = useLoad(
    () => must(pg.admin.GET("/api/users", { params: { query: { q: query || undefined, status: (status || undefined) as AdminSchema<"UserStatus"> | undefined, page, page_size: 20 } } })),
    [query, status, page],
  );
  const [editing, setEditing] = useState<User | null>(null);
  const [sessionsOf, setSessionsOf] = useState<User | null>(null);
  const [draft, setDraft] = useState<Draft>({});
  const save = useAction();
  const row = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    void save.run(async () => {
      const delta = int(draft, "balance_delta");
      await must(
        pg.admin.PUT("/api/users/{id}", {
          params: { path: { id: editing.id } },
          body: {
            role: str(draft, "role") as AdminSchema<"UserRole">,
            status: str(draft, "status") as AdminSchema<"UserStatus">,
            tier: str(draft, "tier") as AdminSchema<"Tier">,
            plan_expires_at: isoOf(str(draft, "plan_expires_at")) ?? null,
            ...(int(draft, "group_id") !== undefined ? { group_id: int(draft, "group_id") } : {}),
            ...(delta ? { balance_delta: delta } : {}),
          },
        }),
      );
      setEditing(null);
      users.reload();
    });
  };
  return (
    <>
      <h1>{t("Users")}</h1>
      <Card>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setPage(1);
            setQuery(q.trim());
          }}
        >
          <Field label={t("Search by name")}>{(id) => <input id={id} type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />}</Field>
          <Field label={t("Status")}>
            {(id) => (
              <select
                id={id}
                value={status}
                onChange={(e) => {
                  setPage(1);
                  setStatus((e.target as HTMLSelectElement).value);
                }}
              >
                <option value="">{t("any")}</option>
                {statuses.map((o) => (
                  <option value={o.value}>{o.label}</option>
                ))}
              </select>
            )}
          </Field>
          <div class="row end">
            <Button type="submit" kind="primary" busy={users.loading}>
              {t("Search")}
            </Button>
          </div>
        </form>
        <ActionState a={row} />
        <Alert>{users.error}</Alert>
        {users.loading && !users.data ? (
          <Loading />
        ) : (
          <Table
            label={t("Users")}
            rows={users.data?.items}
            rowKey={(u) => u.id}
            cols={[
              { label: "ID", cell: (u) => u.id, num: true },
              { label: t("Username"), cell: (u) => u.username },
              { label: t("Role"), cell: (u) => t(u.role) },
              { label: t("Status"), cell: (u) => <Badge value={u.status} /> },
              { label: t("Tier"), cell: (u) => `${t(u.tier ?? "free")}${u.plan_expires_at ? ` · ${when(u.plan_expires_at)}` : ""}` },
              { label: t("Balance"), cell: (u) => num(u.balance), num: true },
              { label: t("Used"), cell: (u) => num(u.used_quota), num: true },
              { label: t("Calls"), cell: (u) => num(u.request_count), num: true },
              {
                label: t("Actions"),
                cell: (u) => (
                  <div class="row">
                    <Button
                      onClick={() => {
                        save.clear();
                        setDraft({ role: u.role, status: u.status, tier: u.tier ?? "free", plan_expires_at: localOf(u.plan_expires_at), group_id: u.group_id ? String(u.group_id) : "", balance_delta: "" });
                        setEditing(u);
                      }}
                    >
                      {t("Edit")}
                    </Button>
                    <Button onClick={() => setSessionsOf(u)}>{t("Sessions")}</Button>
                    <DeleteButton
                      a={row}
                      noun={t("user")}
                      name={u.username}
                      remove={async () => {
                        await must(pg.admin.DELETE("/api/users/{id}", { params: { path: { id: u.id } } }));
                        users.reload();
                      }}
                    />
                  </div>
                ),
              },
            ]}
          />
        )}
        {users.data && <Pager page={users.data.page} pageSize={users.data.page_size} total={users.data.total} onPage={setPage} />}
      </Card>
      <Dialog title={t("Edit {noun}", { noun: editing?.username ?? "" })} open={editing !== null} onClose={() => setEditing(null)} wide>
        <form class="stack" onSubmit={submit}>
          <p class="muted">{t("Balance now: {n} quota units", { n: num(editing?.balance) })}</p>
          <SpecFields
            editing
            draft={draft}
            onChange={setDraft}
            specs={[
              { key: "role", label: t("Role"), type: "select", options: opts("user", "admin") },
              { key: "status", label: t("Status"), type: "select", options: statuses, hint: t("Muted: signs in, but the gateway refuses their calls. Disabled: signed out everywhere, keys stop.") },
              { key: "tier", label: t("Tier"), type: "select", options: opts("free", "pro", "ultra") },
              { key: "plan_expires_at", label: t("Plan expires"), type: "datetime", hint: t("Empty for never.") },
              { key: "group_id", label: t("Group id"), type: "number" },
              { key: "balance_delta", label: t("Adjust balance by"), type: "number", hint: t("Quota units to add (negative to take away).") },
            ]}
          />
          <ActionState a={save} />
          <FormButtons onCancel={() => setEditing(null)} busy={save.busy} label={t("Save")} />
        </form>
      </Dialog>
      <UserSessions user={sessionsOf} onClose={() => setSessionsOf(null)} />
    </>
  );
}
