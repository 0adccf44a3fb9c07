// /app/accounts: the upstream accounts the user contributed (the credential checked by the
// server and never shown again, only its tail), shared with everyone or dedicated to the user,
// each with its state and what others' calls used of it; and whether dedicated or shared
// accounts serve the user first. OAuth-based accounts are added by signing in at the provider.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type UserSchema } from "../lib/api";
import { num, t } from "../lib/i18n";
import { bool, str, type Draft } from "../ui/form";
import { ActionState, Alert, Badge, Button, Card, Field } from "../ui/kit";
import { OAuthCard } from "../ui/oauth";
import { Resource } from "../ui/resource";
import { Countdown } from "../ui/widgets";

type Account = UserSchema<"ContributedAccount">;
type Priority = UserSchema<"AccountPriority">;

function PriorityCard() {
  const prefs = useLoad(() => must(pg.user.GET("/api/user/preferences")), []);
  const [choice, setChoice] = useState<Priority>();
  const a = useAction();
  const value = choice ?? prefs.data?.account_priority ?? "dedicated_first";
  const save = (e: Event) => {
    e.preventDefault();
    void a.run(() => must(pg.user.PUT("/api/user/preferences", { body: { account_priority: value } })), t("Saved."));
  };
  return (
    <Card title={t("Which accounts serve you first")}>
      <Alert>{prefs.error}</Alert>
      <form class="row wrap" onSubmit={save}>
        <Field label={t("Order")}>
          {(id) => (
            <select id={id} value={value} onChange={(e) => setChoice((e.target as HTMLSelectElement).value as Priority)}>
              <option value="dedicated_first">{t("My dedicated accounts, then the shared pool")}</option>
              <option value="shared_first">{t("The shared pool, then my dedicated accounts")}</option>
            </select>
          )}
        </Field>
        <Button kind="primary" type="submit" busy={a.busy}>
          {t("Save")}
        </Button>
      </form>
      <ActionState a={a} />
    </Card>
  );
}

const body = (d: Draft) => ({ nickname: str(d, "nickname"), shared: bool(d, "shared"), ...(str(d, "credential") ? { credential: str(d, "credential") } : {}) });

/** /app/accounts */
export function Accounts() {
  const [providers, setProviders] = useState<string[]>([]);
  const [n, setN] = useState(0);
  return (
    <>
      <h1>{t("Contributed accounts")}</h1>
      <p class="muted">{t("Add an upstream account of yours: shared, everyone's calls may use it; dedicated, only yours do. The server checks the credential with one call and never shows it again.")}</p>
      <Resource<Account>
        key={`accounts-${n}`}
        title={t("Your accounts")}
        noun={t("account")}
        load={async () => {
          const r = await must(pg.user.GET("/api/user/accounts"));
          setProviders(r.providers);
          return r.items;
        }}
        rowKey={(a) => a.id}
        name={(a) => a.nickname || a.credential_tail}
        cols={[
          { label: t("Account"), cell: (a) => <><strong>{a.nickname || "—"}</strong><div class="muted small">{a.provider} · <code>{a.credential_tail}</code></div></> },
          { label: t("Use"), cell: (a) => (a.shared ? t("shared") : t("dedicated")) },
          {
            label: t("State"),
            cell: (a) => (
              <>
                <Badge value={a.state} /> {a.state === "cooling" && <Countdown seconds={a.clears_in} />}
                {a.state_reason && <div class="muted small">{a.state_reason}</div>}
              </>
            ),
          },
          { label: t("Calls by others"), cell: (a) => num(a.usage_by_others.calls), num: true },
          { label: t("Tokens by others"), cell: (a) => num(a.usage_by_others.tokens), num: true },
          { label: t("Quota by others"), cell: (a) => num(a.usage_by_others.quota), num: true },
        ]}
        specs={[
          { key: "provider", label: t("Provider"), type: "select", createOnly: true, options: providers.map((p) => ({ value: p, label: p })) },
          { key: "credential", label: t("API key of the account"), type: "password", hint: t("Checked with one call to the provider; never shown again. When editing, empty keeps the current one.") },
          { key: "nickname", label: t("Nickname") },
          { key: "shared", label: t("Shared with everyone (else dedicated to me)"), type: "checkbox" },
        ]}
        blank={{ provider: providers[0] ?? "", credential: "", nickname: "", shared: true }}
        draftOf={(a) => ({ provider: a.provider, credential: "", nickname: a.nickname, shared: a.shared })}
        create={(d) => must(pg.user.POST("/api/user/accounts", { body: { provider: str(d, "provider") || providers[0] || "", credential: str(d, "credential"), ...body(d) } }))}
        update={(a, d) => must(pg.user.PUT("/api/user/accounts/{account_id}", { params: { path: { account_id: a.id } }, body: body(d) }))}
        remove={(a) => must(pg.user.DELETE("/api/user/accounts/{account_id}", { params: { path: { account_id: a.id } } }))}
      />
      <OAuthCard
        providers={providers}
        authorize={(c) => must(pg.user.POST("/api/user/accounts/oauth/authorize", { body: c }))}
        exchange={(code, state) => must(pg.user.POST("/api/user/accounts/oauth/exchange", { body: { code, state } }))}
        onAdded={() => setN((x) => x + 1)}
      />
      <PriorityCard />
    </>
  );
}
