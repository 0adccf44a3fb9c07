// /admin/limits: limit rules — calls, tokens and calls in flight per user, key, group or
// everyone over a sliding window. The server checks every rule; its message is shown as worded.
import { must, pg, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { Badge } from "../ui/kit";
import { int, str, type Draft } from "../ui/form";
import { Resource } from "../ui/resource";
import { scopeLabel } from "../user/dashboard";

type Rule = AdminSchema<"LimitRule">;

/** The request body of a rule's draft: empty figures are left out (no limit). */
function body(d: Draft): AdminSchema<"LimitRuleInput"> {
  return {
    scope: str(d, "scope") as Rule["scope"],
    subject_id: int(d, "subject_id"),
    model: str(d, "model") || "*",
    window: str(d, "window"),
    requests: int(d, "requests"),
    tokens: int(d, "tokens"),
    concurrency: int(d, "concurrency"),
  };
}

/** The one user, key or group a rule counts. */
function subjectLabel(scope: Rule["scope"], id: number): string {
  if (scope === "key") return t("API key #{id} only", { id });
  if (scope === "group") return t("group #{id} only", { id });
  return t("user #{id} only", { id });
}

const text = (n: number | null) => (n === null ? "" : String(n));
const cap = (n: number | null) => (n === null ? "—" : num(n));

/** /admin/limits */
export function Limits() {
  return (
    <>
      <h1>{t("Limits")}</h1>
      <p class="muted">
        {t("Every rule matching a call applies; a refused call answers 429 with the seconds until a slot frees, never reaches an upstream and is not charged. Users see the rules that apply to them on their dashboard.")}
      </p>
      <Resource<Rule>
        title={t("Limit rules")}
        noun={t("limit rule")}
        load={async () => (await must(pg.admin.GET("/api/limits"))).items}
        rowKey={(r) => r.id}
        name={(r) => `${scopeLabel(r.scope)} · ${r.model} · ${r.window}`}
        cols={[
          { label: "ID", cell: (r) => r.id, num: true },
          { label: t("Applies to"), cell: (r) => (r.subject_id === null ? scopeLabel(r.scope) : subjectLabel(r.scope, r.subject_id)) },
          { label: t("Models"), cell: (r) => <code>{r.model}</code> },
          { label: t("Window"), cell: (r) => r.window },
          { label: t("Calls"), cell: (r) => cap(r.requests), num: true },
          { label: t("Tokens"), cell: (r) => cap(r.tokens), num: true },
          { label: t("In flight"), cell: (r) => cap(r.concurrency), num: true },
          { label: t("Source"), cell: (r) => (r.source === "admin" ? t("this page") : <Badge value={t("seed setting {name}", { name: r.source })} tone="info" />) },
          { label: t("Changed"), cell: (r) => when(r.updated_at) },
        ]}
        specs={[
          {
            key: "scope",
            label: t("Applies to"),
            type: "select",
            options: [
              { value: "user", label: t("each user") },
              { value: "key", label: t("each API key") },
              { value: "group", label: t("each group") },
              { value: "global", label: t("everyone together") },
            ],
          },
          { key: "subject_id", label: t("Only this user, key or group (id)"), type: "number", hint: t("Empty: every one of them, each counted on its own.") },
          { key: "model", label: t("Models"), required: true, hint: t("*, an exact name, prefix* or *part*.") },
          { key: "window", label: t("Window"), required: true, placeholder: "1m", hint: t("A span such as 60s, 1m, 3h, 1d or 1h30m.") },
          { key: "requests", label: t("Most calls in the window"), type: "number" },
          { key: "tokens", label: t("Most tokens in the window"), type: "number" },
          { key: "concurrency", label: t("Most calls in flight"), type: "number" },
        ]}
        blank={{ scope: "user", subject_id: "", model: "*", window: "1m", requests: "", tokens: "", concurrency: "" }}
        draftOf={(r) => ({
          scope: r.scope,
          subject_id: text(r.subject_id),
          model: r.model,
          window: r.window,
          requests: text(r.requests),
          tokens: text(r.tokens),
          concurrency: text(r.concurrency),
        })}
        create={(d) => must(pg.admin.POST("/api/limits", { body: body(d) }))}
        update={(r, d) => must(pg.admin.PUT("/api/limits/{id}", { params: { path: { id: r.id } }, body: body(d) }))}
        canEdit={(r) => r.source === "admin"}
        remove={(r) => must(pg.admin.DELETE("/api/limits/{id}", { params: { path: { id: r.id } } }))}
      />
    </>
  );
}
