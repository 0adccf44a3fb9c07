// Adding an OAuth-based upstream account by signing in at the provider: the user's
// /app/accounts and each channel's accounts in /admin/channels. The browser goes to the
// provider's page and comes back to the console with `?oauth=added|failed`; a provider that shows
// a code instead (paste_code) is opened in a new tab and its code pasted here.
import { useState } from "preact/hooks";
import { useAction, type UserSchema } from "../lib/api";
import { t } from "../lib/i18n";
import { useLocation } from "../lib/router";
import { ActionState, Alert, Button, Card, Field, Notice } from "./kit";

type Authorization = UserSchema<"OAuthAuthorization">;

/** What starting an onboarding asks for. */
export interface OAuthChoice {
  provider: string;
  nickname?: string;
  shared: boolean;
}

export function OAuthCard(props: {
  title?: string;
  providers: string[];
  /** The provider chosen first (else the first offered). */
  initial?: string;
  /** Whether the account may be dedicated (the user's own); an administrator's joins the channel. */
  askShared?: boolean;
  authorize: (c: OAuthChoice) => Promise<Authorization>;
  exchange: (code: string, state?: string) => Promise<unknown>;
  onAdded: () => void;
  /** Whether this card shows the result of a sign-in that came back (?oauth=…). */
  landed?: boolean;
}) {
  const { query } = useLocation();
  const [provider, setProvider] = useState("");
  const [nickname, setNickname] = useState("");
  const [shared, setShared] = useState(true);
  const [pending, setPending] = useState<Authorization>();
  const [code, setCode] = useState("");
  const a = useAction();
  const chosen = provider || props.initial || props.providers[0] || "";
  const back = props.landed === false ? null : query.get("oauth");
  const start = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const r = await props.authorize({ provider: chosen, nickname: nickname.trim() || undefined, shared });
      if (r.paste_code) {
        setPending(r);
        window.open(r.url, "_blank", "noopener");
      } else location.assign(r.url);
    });
  };
  const exchange = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      await props.exchange(code.trim(), code.includes("#") ? undefined : pending?.state);
      setPending(undefined);
      setCode("");
      props.onAdded();
    }, t("The account was added."));
  };
  return (
    <Card title={props.title ?? t("Sign in at the provider")}>
      {back === "added" && <Notice>{t("The account was added.")}</Notice>}
      {back === "failed" && <Alert>{t("The provider's sign-in did not add an account ({code}).", { code: query.get("code") ?? "?" })}</Alert>}
      <p class="muted">{t("For accounts the provider signs in with OAuth: Poolgate keeps the tokens sealed and refreshes them.")}</p>
      {!pending ? (
        <form class="form-grid" onSubmit={start}>
          <Field label={t("Provider")}>
            {(id) => (
              <select id={id} value={chosen} onChange={(e) => setProvider((e.target as HTMLSelectElement).value)}>
                {props.providers.map((p) => (
                  <option value={p}>{p}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("Nickname")}>{(id) => <input id={id} maxLength={64} value={nickname} onInput={(e) => setNickname((e.target as HTMLInputElement).value)} />}</Field>
          {props.askShared !== false && (
            <div class="field check">
              <label>
                <input type="checkbox" checked={shared} onChange={(e) => setShared((e.target as HTMLInputElement).checked)} /> {t("Shared with everyone (else dedicated to me)")}
              </label>
            </div>
          )}
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
