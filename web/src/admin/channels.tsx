// /admin/channels: channels, their accounts (state, cooldown countdown, a test call with its
// latency, reset, import, an OAuth-based account added by signing in at the provider) and their
// models with mapping.
import { useRef, useState } from "preact/hooks";
import { must, pg, useAction, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Badge, Button, Card, Field } from "../ui/kit";
import { bool, int, opts, str, strs, type Draft } from "../ui/form";
import { useLocation } from "../lib/router";
import { OAuthCard } from "../ui/oauth";
import { Resource } from "../ui/resource";
import { Countdown } from "../ui/widgets";

type Channel = AdminSchema<"Channel">;
type Account = AdminSchema<"Account">;
type ChannelModel = AdminSchema<"ChannelModel">;
type Tier = AdminSchema<"Tier">;
type Active = AdminSchema<"ActiveStatus">;

const tiers = opts("free", "pro", "ultra");
const providers = ["openai", "anthropic", "gemini"];
const statuses = opts("active", "disabled");

function Accounts({ channel, landed }: { channel: Channel; landed: boolean }) {
  const imp = useAction();
  const probe = useAction();
  const [lines, setLines] = useState("");
  const path = { params: { path: { id: channel.id } } };
  return (
    <Resource<Account>
      key={`acc-${channel.id}`}
      title={t("Accounts of {name}", { name: channel.name })}
      noun={t("account")}
      load={async () => (await must(pg.admin.GET("/api/channels/{id}/accounts", path))).items}
      rowKey={(a) => a.id}
      name={(a) => a.name}
      cols={[
        { label: t("Name"), cell: (a) => <><strong>{a.name}</strong>{a.nickname && <div class="muted small">{a.nickname}</div>}</> },
        { label: t("Credential"), cell: (a) => (a.has_credential ? <code>{a.credential_tail}</code> : t("none")) },
        { label: t("Tier"), cell: (a) => t(a.tier) },
        {
          label: t("State"),
          cell: (a) => (
            <>
              <Badge value={a.status} />
              {a.cooling_until && <div class="small"><Countdown until={a.cooling_until} /></div>}
              {a.status_reason && <div class="muted small">{a.status_reason}</div>}
            </>
          ),
        },
        { label: t("Owner"), cell: (a) => a.owner_user_id ?? t("shared"), num: true },
        { label: t("OK / failed"), cell: (a) => `${num(a.success_count)} / ${num(a.failure_count)}`, num: true },
        { label: t("Last used"), cell: (a) => when(a.last_used_at) },
      ]}
      specs={[
        { key: "name", label: t("Name") },
        { key: "credential", label: t("Credential"), type: "password", hint: t("Stored encrypted; never shown again. Leave empty to keep the current one."), required: false },
        { key: "nickname", label: t("Nickname") },
        { key: "tier", label: t("Tier"), type: "select", options: tiers },
        { key: "weight", label: t("Weight"), type: "number" },
        { key: "max_concurrency", label: t("Max concurrency"), type: "number", hint: t("0 for no limit.") },
        { key: "owner_user_id", label: t("Dedicated to user id"), type: "number", hint: t("Empty for the shared pool.") },
        { key: "status", label: t("Status"), type: "select", options: statuses },
      ]}
      blank={{ name: "", credential: "", nickname: "", tier: "free", weight: "1", max_concurrency: "0", owner_user_id: "", status: "active" }}
      draftOf={(a) => ({
        name: a.name,
        credential: "",
        nickname: a.nickname,
        tier: a.tier,
        weight: String(a.weight),
        max_concurrency: String(a.max_concurrency),
        owner_user_id: a.owner_user_id === null ? "" : String(a.owner_user_id),
        status: a.status === "disabled" ? "disabled" : "active",
      })}
      create={(d) =>
        must(
          pg.admin.POST("/api/channels/{id}/accounts", {
            ...path,
            body: {
              name: str(d, "name") || undefined,
              credential: str(d, "credential"),
              nickname: str(d, "nickname"),
              tier: str(d, "tier") as Tier,
              weight: int(d, "weight"),
              max_concurrency: int(d, "max_concurrency"),
              owner_user_id: int(d, "owner_user_id") ?? null,
              status: str(d, "status") as Active,
            },
          }),
        )
      }
      update={(a, d) =>
        must(
          pg.admin.PUT("/api/channels/{id}/accounts/{account_id}", {
            params: { path: { id: channel.id, account_id: a.id } },
            body: {
              name: str(d, "name"),
              ...(str(d, "credential") ? { credential: str(d, "credential") } : {}),
              nickname: str(d, "nickname"),
              tier: str(d, "tier") as Tier,
              weight: int(d, "weight"),
              max_concurrency: int(d, "max_concurrency"),
              ...(int(d, "owner_user_id") !== undefined ? { owner_user_id: int(d, "owner_user_id") } : {}),
              status: str(d, "status") as Active,
            },
          }),
        )
      }
      remove={(a) => must(pg.admin.DELETE("/api/channels/{id}/accounts/{account_id}", { params: { path: { id: channel.id, account_id: a.id } } }))}
      actions={(a, list) => (
        <>
          <Button
            busy={probe.busy}
            onClick={() =>
              void probe.run(
                () => must(pg.admin.POST("/api/channels/{id}/accounts/{account_id}/test", { params: { path: { id: channel.id, account_id: a.id } }, body: {} })),
                (r) =>
                  r.ok
                    ? t("{name}: {model} answered in {ms} ms: “{answer}”", { name: a.name, model: r.model, ms: num(r.latency_ms), answer: r.answer })
                    : t("{name}: {model} failed (HTTP {status}) after {ms} ms: {error}", { name: a.name, model: r.model, status: r.status, ms: num(r.latency_ms), error: r.error }),
              )
            }
          >
            {t("Test")}
          </Button>
          <Button
            onClick={() =>
              void must(pg.admin.POST("/api/channels/{id}/accounts/{account_id}/reset", { params: { path: { id: channel.id, account_id: a.id } } })).then(list.reload, (e) =>
                alert((e as Error).message),
              )
            }
          >
            {t("Reset")}
          </Button>
        </>
      )}
    >
      {(list) => (
        <>
        <div aria-live="polite" data-testid="account-test">
          <ActionState a={probe} />
        </div>
        <Card title={t("Import accounts")}>
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              void imp.run(async () => {
                const r = await must(
                  pg.admin.POST("/api/channels/{id}/accounts/import", { ...path, body: { accounts: lines.split("\n").map((l) => l.trim()).filter(Boolean).map((credential) => ({ credential })) } }),
                );
                setLines("");
                list.reload();
                imp.clear();
                return r;
              }, t("Imported."));
            }}
          >
            <Field label={t("Credentials, one per line")} wide>
              {(id) => <textarea id={id} rows={4} value={lines} onInput={(e) => setLines((e.target as HTMLTextAreaElement).value)} />}
            </Field>
            <ActionState a={imp} />
            <div class="row end">
              <Button type="submit" kind="primary" busy={imp.busy} disabled={!lines.trim()}>
                {t("Import")}
              </Button>
            </div>
          </form>
        </Card>
        <OAuthCard
          title={t("Add an account by signing in at the provider")}
          providers={providers}
          initial={channel.type}
          askShared={false}
          landed={landed}
          authorize={(c) => must(pg.admin.POST("/api/channels/{id}/accounts/oauth/authorize", { ...path, body: { provider: c.provider as AdminSchema<"ChannelType">, nickname: c.nickname } }))}
          exchange={(code, state) => must(pg.admin.POST("/api/channels/{id}/accounts/oauth/exchange", { ...path, body: { code, state } }))}
          onAdded={list.reload}
        />
        </>
      )}
    </Resource>
  );
}

function Models({ channel }: { channel: Channel }) {
  return (
    <Resource<ChannelModel>
      key={`cm-${channel.id}`}
      title={t("Models of {name}", { name: channel.name })}
      noun={t("model mapping")}
      load={async () => (await must(pg.admin.GET("/api/channels/{id}/models", { params: { path: { id: channel.id } } }))).items}
      rowKey={(m) => m.id}
      name={(m) => m.name}
      cols={[
        { label: t("Model"), cell: (m) => m.name },
        { label: t("Upstream name"), cell: (m) => (m.upstream_name && m.upstream_name !== m.name ? m.upstream_name : <span class="muted">{t("same")}</span>) },
      ]}
      specs={[
        { key: "name", label: t("Model"), required: true },
        { key: "upstream_name", label: t("Upstream name"), hint: t("The name sent upstream; empty for the same name.") },
      ]}
      blank={{ name: "", upstream_name: "" }}
      draftOf={(m) => ({ name: m.name, upstream_name: m.upstream_name })}
      create={(d) => must(pg.admin.POST("/api/channels/{id}/models", { params: { path: { id: channel.id } }, body: { name: str(d, "name"), upstream_name: str(d, "upstream_name") || undefined } }))}
      update={(m, d) => must(pg.admin.PUT("/api/channel-models/{id}", { params: { path: { id: m.id } }, body: { name: str(d, "name"), upstream_name: str(d, "upstream_name") } }))}
      remove={(m) => must(pg.admin.DELETE("/api/channel-models/{id}", { params: { path: { id: m.id } } }))}
    />
  );
}

function channelBody(d: Draft) {
  return {
    name: str(d, "name"),
    base_url: str(d, "base_url"),
    models: strs(d, "models"),
    priority: int(d, "priority"),
    weight: int(d, "weight"),
    status: (bool(d, "enabled") ? "active" : "disabled") as Active,
    min_tier: str(d, "min_tier") as Tier,
  };
}

/** /admin/channels */
export function Channels() {
  const [open, setOpen] = useState<Channel | null>(null);
  const sync = useAction();
  // Back from the provider's sign-in: /admin/channels?oauth=added|failed&channel_id=… opens that channel.
  const { query } = useLocation();
  const landedOn = query.get("oauth") ? Number(query.get("channel_id")) : 0;
  const opened = useRef(false);
  return (
    <>
      <h1>{t("Channels and accounts")}</h1>
      <ActionState a={sync} />
      <Resource<Channel>
        title={t("Channels")}
        noun={t("channel")}
        load={async () => {
          const items = (await must(pg.admin.GET("/api/channels"))).items;
          const back = items.find((c) => c.id === landedOn);
          if (back && !opened.current) setOpen(back);
          opened.current = true;
          return items;
        }}
        rowKey={(c) => c.id}
        name={(c) => c.name}
        cols={[
          { label: t("Name"), cell: (c) => <><strong>{c.name}</strong><div class="muted small">{c.base_url}</div></> },
          { label: t("Type"), cell: (c) => c.type },
          { label: t("Models"), cell: (c) => <span title={c.models.join(", ")}>{c.models.slice(0, 3).join(", ")}{c.models.length > 3 ? ` +${c.models.length - 3}` : ""}</span> },
          { label: t("Priority / weight"), cell: (c) => `${c.priority} / ${c.weight}`, num: true },
          { label: t("Minimum tier"), cell: (c) => t(c.min_tier) },
          { label: t("Status"), cell: (c) => <Badge value={c.status} /> },
          { label: t("Accounts"), cell: (c) => num(c.account_count), num: true },
        ]}
        specs={[
          { key: "name", label: t("Name"), required: true },
          { key: "type", label: t("Type"), type: "select", options: opts("openai", "anthropic", "gemini"), createOnly: true },
          { key: "base_url", label: t("Base URL"), type: "url", required: true, placeholder: "https://api.openai.com/v1" },
          { key: "models", label: t("Models"), hint: t("Comma-separated model names."), type: "textarea" },
          { key: "priority", label: t("Priority"), type: "number" },
          { key: "weight", label: t("Weight"), type: "number" },
          { key: "min_tier", label: t("Minimum tier"), type: "select", options: tiers },
          { key: "enabled", label: t("Enabled"), type: "checkbox" },
        ]}
        blank={{ name: "", type: "openai", base_url: "", models: "", priority: "0", weight: "1", min_tier: "free", enabled: true }}
        draftOf={(c) => ({ name: c.name, type: c.type, base_url: c.base_url, models: c.models.join(", "), priority: String(c.priority), weight: String(c.weight), min_tier: c.min_tier, enabled: c.status === "active" })}
        create={(d) => must(pg.admin.POST("/api/channels", { body: { ...channelBody(d), type: str(d, "type") as AdminSchema<"ChannelType"> } }))}
        update={(c, d) => must(pg.admin.PUT("/api/channels/{id}", { params: { path: { id: c.id } }, body: channelBody(d) }))}
        remove={(c) => must(pg.admin.DELETE("/api/channels/{id}", { params: { path: { id: c.id } } }))}
        actions={(c) => (
          <Button kind={open?.id === c.id ? "primary" : "plain"} onClick={() => setOpen(open?.id === c.id ? null : c)} aria-expanded={open?.id === c.id}>
            {t("Accounts and models")}
          </Button>
        )}
        tools={(list) => (
          <Button
            busy={sync.busy}
            onClick={() =>
              void sync.run(async () => {
                const r = await must(pg.admin.POST("/api/channels/sync", { body: {} }));
                list.reload();
                const bad = r.items.filter((i) => !i.ok);
                if (bad.length) throw new Error(bad.map((i) => `#${i.channel_id}: ${i.error}`).join("; "));
              }, t("Model lists fetched from every channel."))
            }
          >
            {t("Fetch model lists")}
          </Button>
        )}
      />
      {open && (
        <>
          <Accounts channel={open} landed={open.id === landedOn} />
          <Models channel={open} />
        </>
      )}
    </>
  );
}
