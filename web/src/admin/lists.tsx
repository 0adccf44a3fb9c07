// Admin pages that are plain record lists: groups, user channels, status monitors,
// announcements and share links.
import { must, pg, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { Badge, Button } from "../ui/kit";
import { bool, int, intOrNull, opts, str, strs } from "../ui/form";
import { Resource } from "../ui/resource";
import { isoOf } from "../ui/usage";
import { localOf } from "../user/keys";

/** /admin/groups */
export function Groups() {
  return (
    <>
      <h1>{t("Groups")}</h1>
      <Resource<AdminSchema<"Group">>
        title={t("Groups")}
        noun={t("group")}
        load={async () => (await must(pg.admin.GET("/api/groups"))).items}
        rowKey={(g) => g.id}
        name={(g) => g.name}
        cols={[
          { label: "ID", cell: (g) => g.id, num: true },
          { label: t("Name"), cell: (g) => <><strong>{g.name}</strong>{g.description && <div class="muted small">{g.description}</div>}</> },
          { label: t("Price multiplier"), cell: (g) => `×${(g.multiplier_permille / 1000).toFixed(3)}`, num: true },
          { label: t("Channels"), cell: (g) => (g.channel_ids.length ? g.channel_ids.join(", ") : t("all")) },
        ]}
        specs={[
          { key: "name", label: t("Name"), required: true },
          { key: "description", label: t("Description") },
          { key: "multiplier_permille", label: t("Price multiplier (‰)"), type: "number", hint: t("1000 is ×1; 800 is a 20% discount.") },
          { key: "channel_ids", label: t("Channel ids"), hint: t("Comma-separated; empty for every channel.") },
        ]}
        blank={{ name: "", description: "", multiplier_permille: "1000", channel_ids: "" }}
        draftOf={(g) => ({ name: g.name, description: g.description, multiplier_permille: String(g.multiplier_permille), channel_ids: g.channel_ids.join(", ") })}
        create={(d) =>
          must(pg.admin.POST("/api/groups", { body: { name: str(d, "name"), description: str(d, "description"), multiplier_permille: int(d, "multiplier_permille"), channel_ids: strs(d, "channel_ids").map(Number) } }))
        }
        update={(g, d) =>
          must(
            pg.admin.PUT("/api/groups/{id}", {
              params: { path: { id: g.id } },
              body: { name: str(d, "name"), description: str(d, "description"), multiplier_permille: int(d, "multiplier_permille"), channel_ids: strs(d, "channel_ids").map(Number) },
            }),
          )
        }
        remove={(g) => must(pg.admin.DELETE("/api/groups/{id}", { params: { path: { id: g.id } } }))}
      />
      <Resource<AdminSchema<"UserChannel">>
        title={t("User channels")}
        noun={t("user channel")}
        load={async () => (await must(pg.admin.GET("/api/user-channels"))).items}
        rowKey={(u) => u.id}
        name={(u) => `${u.user_id} → ${u.channel_id}`}
        cols={[
          { label: t("User id"), cell: (u) => u.user_id, num: true },
          { label: t("Channel id"), cell: (u) => u.channel_id, num: true },
          { label: t("Priority"), cell: (u) => u.priority, num: true },
          { label: t("Created"), cell: (u) => when(u.created_at) },
        ]}
        specs={[
          { key: "user_id", label: t("User id"), type: "number", required: true, createOnly: true },
          { key: "channel_id", label: t("Channel id"), type: "number", required: true, createOnly: true },
          { key: "priority", label: t("Priority"), type: "number" },
        ]}
        blank={{ user_id: "", channel_id: "", priority: "0" }}
        draftOf={(u) => ({ user_id: String(u.user_id), channel_id: String(u.channel_id), priority: String(u.priority) })}
        create={(d) => must(pg.admin.POST("/api/user-channels", { body: { user_id: int(d, "user_id") ?? 0, channel_id: int(d, "channel_id") ?? 0, priority: int(d, "priority") } }))}
        update={(u, d) => must(pg.admin.PUT("/api/user-channels/{id}", { params: { path: { id: u.id } }, body: { priority: int(d, "priority") ?? 0 } }))}
        remove={(u) => must(pg.admin.DELETE("/api/user-channels/{id}", { params: { path: { id: u.id } } }))}
      />
    </>
  );
}

/** /admin/monitors */
export function Monitors() {
  return (
    <>
      <h1>{t("Status monitors")}</h1>
      <p class="muted">
        {t("Public monitors appear on the status page:")} <a href="/uptime">/uptime</a>
      </p>
      <Resource<AdminSchema<"StatusMonitor">>
        title={t("Status monitors")}
        noun={t("monitor")}
        load={async () => (await must(pg.admin.GET("/api/status-monitors"))).items}
        rowKey={(m) => m.id}
        name={(m) => m.name}
        cols={[
          { label: t("Name"), cell: (m) => m.name },
          { label: t("Channel / model"), cell: (m) => `#${m.channel_id} ${m.model}` },
          { label: t("Every"), cell: (m) => `${m.interval_seconds}s`, num: true },
          { label: t("Status"), cell: (m) => <><Badge value={m.last_status} /> {!m.enabled && <Badge value="disabled" />}</> },
          { label: t("Latency"), cell: (m) => (m.last_latency_ms === null ? "—" : `${num(m.last_latency_ms)} ms`), num: true },
          { label: t("Checked"), cell: (m) => <>{when(m.last_checked_at)}{m.last_message && <div class="muted small">{m.last_message}</div>}</> },
          { label: t("Public"), cell: (m) => (m.public ? t("yes") : t("no")) },
        ]}
        specs={[
          { key: "name", label: t("Name"), required: true },
          { key: "channel_id", label: t("Channel id"), type: "number", required: true },
          { key: "model", label: t("Model"), hint: t("Empty: the channel's first model.") },
          { key: "interval_seconds", label: t("Interval (seconds)"), type: "number" },
          { key: "public", label: t("Shown on the public status page"), type: "checkbox" },
          { key: "enabled", label: t("Enabled"), type: "checkbox" },
        ]}
        blank={{ name: "", channel_id: "", model: "", interval_seconds: "300", public: true, enabled: true }}
        draftOf={(m) => ({ name: m.name, channel_id: String(m.channel_id), model: m.model, interval_seconds: String(m.interval_seconds), public: m.public, enabled: m.enabled })}
        create={(d) =>
          must(
            pg.admin.POST("/api/status-monitors", {
              body: { name: str(d, "name"), channel_id: int(d, "channel_id") ?? 0, model: str(d, "model") || undefined, interval_seconds: int(d, "interval_seconds"), public: bool(d, "public"), enabled: bool(d, "enabled") },
            }),
          )
        }
        update={(m, d) =>
          must(
            pg.admin.PUT("/api/status-monitors/{id}", {
              params: { path: { id: m.id } },
              body: { name: str(d, "name"), channel_id: int(d, "channel_id"), model: str(d, "model"), interval_seconds: int(d, "interval_seconds"), public: bool(d, "public"), enabled: bool(d, "enabled") },
            }),
          )
        }
        remove={(m) => must(pg.admin.DELETE("/api/status-monitors/{id}", { params: { path: { id: m.id } } }))}
        actions={(m, list) => (
          <Button onClick={() => void must(pg.admin.POST("/api/status-monitors/{id}/check", { params: { path: { id: m.id } } })).then(list.reload, (e) => alert((e as Error).message))}>
            {t("Check now")}
          </Button>
        )}
      />
    </>
  );
}

/** /admin/announcements */
export function Announcements() {
  return (
    <>
      <h1>{t("Announcements")}</h1>
      <Resource<AdminSchema<"Announcement">>
        title={t("Announcements")}
        noun={t("announcement")}
        load={async () => (await must(pg.admin.GET("/api/announcements"))).items}
        rowKey={(a) => a.id}
        name={(a) => a.title}
        cols={[
          { label: t("Title"), cell: (a) => <><strong>{a.title}</strong><div class="muted small pre clamp">{a.content}</div></> },
          { label: t("Audience"), cell: (a) => t(a.audience) },
          { label: t("From"), cell: (a) => when(a.starts_at) },
          { label: t("Until"), cell: (a) => when(a.ends_at) },
        ]}
        specs={[
          { key: "title", label: t("Title"), required: true },
          { key: "content", label: t("Content"), type: "textarea", required: true },
          { key: "audience", label: t("Audience"), type: "select", options: opts("all", "users", "admins") },
          { key: "starts_at", label: t("From"), type: "datetime", hint: t("Empty: now.") },
          { key: "ends_at", label: t("Until"), type: "datetime", hint: t("Empty for never.") },
        ]}
        blank={{ title: "", content: "", audience: "all", starts_at: "", ends_at: "" }}
        draftOf={(a) => ({ title: a.title, content: a.content, audience: a.audience, starts_at: localOf(a.starts_at), ends_at: localOf(a.ends_at) })}
        create={(d) => must(pg.admin.POST("/api/announcements", { body: annBody(d) }))}
        update={(a, d) => must(pg.admin.PUT("/api/announcements/{id}", { params: { path: { id: a.id } }, body: annBody(d) }))}
        remove={(a) => must(pg.admin.DELETE("/api/announcements/{id}", { params: { path: { id: a.id } } }))}
      />
    </>
  );
}

function annBody(d: Record<string, string | boolean>) {
  return {
    title: str(d, "title"),
    content: str(d, "content"),
    audience: str(d, "audience") as AdminSchema<"AnnouncementAudience">,
    starts_at: isoOf(str(d, "starts_at")) ?? null,
    ends_at: isoOf(str(d, "ends_at")) ?? null,
  };
}

/** /admin/share-links */
export function ShareLinks() {
  return (
    <>
      <h1>{t("Share links")}</h1>
      <Resource<AdminSchema<"ShareLink">>
        title={t("Share links")}
        noun={t("share link")}
        load={async () => (await must(pg.admin.GET("/api/share-links"))).items}
        rowKey={(s) => s.id}
        name={(s) => s.name}
        cols={[
          { label: t("Name"), cell: (s) => <><strong>{s.name}</strong><div class="small"><a href={`/share/${encodeURIComponent(s.id)}`}>/share/{s.id}</a></div></> },
          { label: t("User id"), cell: (s) => s.user_id, num: true },
          { label: t("Models"), cell: (s) => (s.models.length ? s.models.join(", ") : t("all")) },
          { label: t("Credential host"), cell: (s) => s.auth_host || "—" },
          { label: t("Used (quota)"), cell: (s) => `${num(s.used_quota)}${s.quota_limit !== null ? ` / ${num(s.quota_limit)}` : ""}`, num: true },
          { label: t("Calls"), cell: (s) => `${num(s.request_count)}${s.request_limit !== null ? ` / ${num(s.request_limit)}` : ""}`, num: true },
          { label: t("Status"), cell: (s) => <Badge value={s.status} /> },
          { label: t("Expires"), cell: (s) => (s.expires_at ? when(s.expires_at) : t("never")) },
        ]}
        specs={[
          { key: "name", label: t("Name"), required: true },
          { key: "user_id", label: t("Charged to user id"), type: "number", required: true, createOnly: true },
          { key: "models", label: t("Models"), hint: t("Comma-separated; empty allows every model.") },
          { key: "auth_host", label: t("Credential host"), type: "url", hint: t("The shareAuth server (seed 004); empty for an open link.") },
          { key: "quota_limit", label: t("Quota limit"), type: "number" },
          { key: "request_limit", label: t("Call limit"), type: "number" },
          { key: "expires_at", label: t("Expires"), type: "datetime" },
          { key: "enabled", label: t("Enabled"), type: "checkbox", editOnly: true },
        ]}
        blank={{ name: "", user_id: "", models: "", auth_host: "", quota_limit: "", request_limit: "", expires_at: "", enabled: true }}
        draftOf={(s) => ({
          name: s.name,
          user_id: String(s.user_id),
          models: s.models.join(", "),
          auth_host: s.auth_host,
          quota_limit: s.quota_limit === null ? "" : String(s.quota_limit),
          request_limit: s.request_limit === null ? "" : String(s.request_limit),
          expires_at: localOf(s.expires_at),
          enabled: s.status === "active",
        })}
        create={(d) =>
          must(
            pg.admin.POST("/api/share-links", {
              body: {
                name: str(d, "name"),
                user_id: int(d, "user_id") ?? 0,
                models: strs(d, "models"),
                auth_host: str(d, "auth_host"),
                quota_limit: intOrNull(d, "quota_limit"),
                request_limit: intOrNull(d, "request_limit"),
                expires_at: isoOf(str(d, "expires_at")) ?? null,
              },
            }),
          )
        }
        update={(s, d) =>
          must(
            pg.admin.PUT("/api/share-links/{share_id}", {
              params: { path: { share_id: s.id } },
              body: {
                name: str(d, "name"),
                models: strs(d, "models"),
                auth_host: str(d, "auth_host"),
                ...(int(d, "quota_limit") !== undefined ? { quota_limit: int(d, "quota_limit") } : {}),
                ...(int(d, "request_limit") !== undefined ? { request_limit: int(d, "request_limit") } : {}),
                ...(isoOf(str(d, "expires_at")) ? { expires_at: isoOf(str(d, "expires_at")) } : {}),
                status: bool(d, "enabled") ? "active" : "disabled",
              },
            }),
          )
        }
        remove={(s) => must(pg.admin.DELETE("/api/share-links/{share_id}", { params: { path: { share_id: s.id } } }))}
      />
    </>
  );
}
