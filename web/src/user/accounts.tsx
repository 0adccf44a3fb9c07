// /app/accounts: the upstream accounts the user contributed (the credential checked by the
// server and never shown again, only its tail), shared with everyone or dedicated to the user,
// each with its state and what others' calls used of it; and whether dedicated or shared
// accounts serve the user first. OAuth-based accounts are added by signing in at the provider.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type UserSchema } from "../lib/api";
import { num, t } from "../lib/i18n";
import { bool, str, type Draft } from "../ui/form";
import { ActionState, Alert, Badge, Button, Card, Field, Notice } from "../ui/kit";
import { useLocation } from "../lib/router";
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

/**
 * Adding an OAuth-based account: sign in at the provider. The browser goes to the provider's page
 * and comes back to /app/accounts?oauth=added|failed; a provider that shows a code instead
 * (paste_code) is opened in a new tab and its code pasted here.
 */
function OAuthCard({ providers, onAdded }: { providers: string[]; onAdded: () => void }) {
  const { query } = useLocation();
  const [provider, setProvider] = useState("");
  const [nickname, setNickname] = useState("");
  const [shared, setShared] = useState(true);
  const [pending, setPending] = useState<UserSchema<"OAuthAuthorization">>();
  const [code, setCode] = useState("");
  const a = useAction();
  const chosen = provider || providers[0] || "";
  const back = query.get("oauth");
  const start = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const r = await must(pg.user.POST("/api/user/accounts/oauth/authorize", { body: { provider: chosen, nickname: nickname.trim() || undefined, shared } }));
      if (r.paste_code) {
        setPending(r);
        window.open(r.url, "_blank", "noopener");
      } else location.assign(r.url);
    });
  };
  const exchange = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      await must(pg.user.POST("/api/user/accounts/oauth/exchange", { body: { code: code.trim(), ...(code.includes("#") ? {} : { state: pending?.state }) } }));
      setPending(undefined);
      setCode("");
      onAdded();
    }, t("The account was added."));
  };
  return (
    <Card title={t("Sign in at the provider")}>
      {back === "added" && <Notice>{t("The account was added.")}</Notice>}
      {back === "failed" && <Alert>{t("The provider's sign-in did not add an account ({code}).", { code: query.get("code") ?? "?" })}</Alert>}
      <p class="muted">{t("For accounts the provider signs in with OAuth: Poolgate keeps the tokens sealed and refreshes them.")}</p>
      {!pending ? (
        <form class="form-grid" onSubmit={start}>
          <Field label={t("Provider")}>
            {(id) => (
              <select id={id} value={chosen} onChange={(e) => setProvider((e.target as HTMLSelectElement).value)}>
                {providers.map((p) => (
                  <option value={p}>{p}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("Nickname")}>{(id) => <input id={id} maxLength={64} value={nickname} onInput={(e) => setNickname((e.target as HTMLInputElement).value)} />}</Field>
          <div class="field check">
            <label>
              <input type="checkbox" checked={shared} onChange={(e) => setShared((e.target as HTMLInputElement).checked)} /> {t("Shared with everyone (else dedicated to me)")}
            </label>
          </div>
          <div class="row end">
            <Button kind="primary" type="submit" busy={a.busy} disabled={!chosen}>
              {t("Sign in at the provider")}
            </Button>
          </div>
        </form>
      ) : (
        <form class="stack" onSubmit={exchange}>
          <p>
            {t("The provider's page opened in a new tab; paste the code it shows.")} <a href={pending.url} target="_blank" rel="noopener noreferrer">{t("Open it again")}</a>
          </p>
          <Field label={t("Code from the provider")}>{(id) => <input id={id} required autoComplete="off" spellcheck={false} value={code} onInput={(e) => setCode((e.target as HTMLInputElement).value)} />}</Field>
          <div class="row end">
            <Button onClick={() => setPending(undefined)}>{t("Cancel")}</Button>
            <Button kind="primary" type="submit" busy={a.busy}>
              {t("Add the account")}
            </Button>
          </div>
        </form>
      )}
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
      <OAuthCard providers={providers} onAdded={() => setN((x) => x + 1)} />
      <PriorityCard />
    </>
  );
}
