// /app/security: the password (changed with the old one or an e-mail code), passkeys, TOTP,
// single sign-on identities and the sessions, each of which can be ended.
import { useState } from "preact/hooks";
import { must, pg, useAction, useLoad, type UserSchema } from "../lib/api";
import { t, when } from "../lib/i18n";
import { refreshMe, useMe, useSite } from "../lib/session";
import { createPasskey, passkeysSupported } from "../lib/webauthn";
import { ActionState, Alert, Badge, Button, Card, Field, Loading, Table } from "../ui/kit";
import { SessionTable, type Session } from "../ui/sessions";
import { EmailCode, val } from "./signin";

function PasswordCard() {
  const m = useLoad(() => must(pg.user.GET("/api/user/password/method")), []);
  const [by, setBy] = useState<"old_password" | "email_code">();
  const [old, setOld] = useState("");
  const [code, setCode] = useState("");
  const [next, setNext] = useState("");
  const a = useAction();
  const methods = m.data?.methods ?? [];
  const method = by ?? methods[0];
  const submit = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const proof = method === "email_code" ? { email_code: code } : { old_password: old };
      await must(pg.user.POST("/api/user/password/change", { body: { ...proof, new_password: next } }));
      setOld("");
      setCode("");
      setNext("");
    }, t("The password is changed; your other sessions have ended."));
  };
  return (
    <Card title={m.data?.has_password === false ? t("Set a password") : t("Change the password")}>
      <Alert>{m.error}</Alert>
      {m.loading && !m.data ? (
        <Loading />
      ) : methods.length === 0 ? (
        <p class="muted">{t("Add an e-mail address to your account to set a password.")}</p>
      ) : (
        <form class="stack" onSubmit={submit}>
          {methods.length > 1 && (
            <fieldset class="row">
              <legend>{t("Prove it is you with")}</legend>
              {methods.map((x) => (
                <label>
                  <input type="radio" name="pw-method" checked={method === x} onChange={() => (a.clear(), setBy(x))} />{" "}
                  {x === "old_password" ? t("The current password") : t("A code sent to {email}", { email: m.data?.email ?? "" })}
                </label>
              ))}
            </fieldset>
          )}
          {method === "old_password" ? (
            <Field label={t("Current password")}>{(id) => <input id={id} type="password" autoComplete="current-password" required value={old} onInput={val(setOld)} />}</Field>
          ) : (
            <EmailCode email={m.data?.email ?? ""} code={code} setCode={setCode} send={() => must(pg.user.POST("/api/user/password/email-code"))} />
          )}
          <Field label={t("New password")} hint={t("At least 8 characters.")}>
            {(id) => <input id={id} type="password" autoComplete="new-password" minLength={8} required value={next} onInput={val(setNext)} />}
          </Field>
          <ActionState a={a} />
          <div class="row">
            <Button kind="primary" type="submit" busy={a.busy}>
              {t("Change the password")}
            </Button>
          </div>
        </form>
      )}
    </Card>
  );
}

function PasskeysCard() {
  const list = useLoad(async () => (await must(pg.user.GET("/api/user/passkeys"))).items, []);
  const [name, setName] = useState("");
  const add = useAction();
  const row = useAction();
  const create = (e: Event) => {
    e.preventDefault();
    void add.run(async () => {
      const options = await must(pg.user.POST("/api/user/passkeys/register/options"));
      const credential = await createPasskey(options);
      await must(pg.user.POST("/api/user/passkeys/register/finish", { params: { query: name ? { name } : {} }, body: credential }));
      setName("");
      list.reload();
    }, t("The passkey is added; you can sign in with it."));
  };
  return (
    <Card title={t("Passkeys")}>
      <Alert>{list.error}</Alert>
      <ActionState a={row} />
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <Table<UserSchema<"Passkey">>
          label={t("Passkeys")}
          rows={list.data}
          rowKey={(p) => p.id}
          empty={t("No passkeys yet.")}
          cols={[
            { label: t("Name"), cell: (p) => p.name },
            { label: t("Added"), cell: (p) => when(p.created_at) },
            { label: t("Last used"), cell: (p) => (p.last_used_at ? when(p.last_used_at) : t("never")) },
            {
              label: t("Actions"),
              cell: (p) => (
                <Button
                  kind="danger"
                  busy={row.busy}
                  onClick={() =>
                    confirm(t("Remove the passkey “{name}”?", { name: p.name })) &&
                    void row.run(async () => {
                      await must(pg.user.DELETE("/api/user/passkeys/{id}", { params: { path: { id: p.id } } }));
                      list.reload();
                    }, t("Removed."))
                  }
                >
                  {t("Remove")}
                </Button>
              ),
            },
          ]}
        />
      )}
      {passkeysSupported() ? (
        <form class="row wrap" onSubmit={create}>
          <Field label={t("Passkey name")}>{(id) => <input id={id} maxLength={64} placeholder={t("laptop")} value={name} onInput={val(setName)} />}</Field>
          <Button kind="primary" type="submit" busy={add.busy}>
            {t("Add a passkey")}
          </Button>
        </form>
      ) : (
        <p class="muted">{t("This browser cannot use passkeys.")}</p>
      )}
      <ActionState a={add} />
    </Card>
  );
}

function TotpCard({ on }: { on: boolean }) {
  const [secret, setSecret] = useState<UserSchema<"TotpSecret">>();
  const [code, setCode] = useState("");
  const a = useAction();
  const start = () =>
    void a.run(async () => {
      setSecret(await must(pg.user.POST("/api/user/totp/setup")));
    });
  const submit = (e: Event) => {
    e.preventDefault();
    void a.run(
      async () => {
        if (on) await must(pg.user.POST("/api/user/totp/disable", { body: { code } }));
        else await must(pg.user.POST("/api/user/totp/enable", { body: { code } }));
        setSecret(undefined);
        setCode("");
        await refreshMe();
      },
      on ? t("Two-factor authentication is off.") : t("Two-factor authentication is on: sign-in asks for a code from now on."),
    );
  };
  const codeField = (
    <Field label={t("Code from your authenticator app")}>
      {(id) => <input id={id} name="totp_code" autoComplete="one-time-code" inputMode="numeric" pattern="[0-9]{6}" maxLength={6} required value={code} onInput={val(setCode)} />}
    </Field>
  );
  return (
    <Card title={t("Two-factor authentication (TOTP)")}>
      <p>
        <Badge value={on ? "active" : "disabled"} tone={on ? "ok" : "info"} /> {on ? t("Sign-in asks for a code from your authenticator app.") : t("Sign-in asks only for the password.")}
      </p>
      {on ? (
        <form class="row wrap" onSubmit={submit}>
          {codeField}
          <Button kind="danger" type="submit" busy={a.busy}>
            {t("Turn off")}
          </Button>
        </form>
      ) : secret ? (
        <form class="stack" onSubmit={submit}>
          <p>{t("Add this secret to your authenticator app (or open the link on your phone), then enter the code it shows.")}</p>
          <p>
            <code class="secret-value" data-testid="totp-secret">
              {secret.secret}
            </code>
          </p>
          <p>
            <a href={secret.otpauth_url}>{t("Open in the authenticator app")}</a>
          </p>
          {codeField}
          <div class="row">
            <Button kind="primary" type="submit" busy={a.busy}>
              {t("Turn on")}
            </Button>
          </div>
        </form>
      ) : (
        <Button kind="primary" busy={a.busy} onClick={start}>
          {t("Set up")}
        </Button>
      )}
      <ActionState a={a} />
    </Card>
  );
}

function IdentitiesCard() {
  const site = useSite();
  const a = useAction();
  const providers = site?.sso_providers ?? [];
  if (providers.length === 0) return null;
  const bind = (provider: string) =>
    void a.run(async () => {
      const { url } = await must(pg.user.POST("/api/user/oidc/bind-url", { body: { provider } }));
      // Through the provider's pages, then back here.
      const to = new URL(url, location.origin);
      to.searchParams.set("return_to", "/app/security");
      location.assign(to.toString());
    });
  return (
    <Card title={t("Single sign-on")}>
      <p class="muted">{t("Link an identity at a provider to this account, then sign in with it.")}</p>
      <div class="row wrap">
        {providers.map((p) => (
          <Button busy={a.busy} onClick={() => bind(p.slug)}>
            {t("Link {name}", { name: p.name })}
          </Button>
        ))}
      </div>
      <ActionState a={a} />
    </Card>
  );
}

function SessionsCard() {
  const list = useLoad(async () => (await must(pg.user.GET("/api/user/sessions"))).items, []);
  const a = useAction();
  const end = (s: Session) =>
    void a.run(async () => {
      await must(pg.user.DELETE("/api/user/sessions/{id}", { params: { path: { id: s.id } } }));
      if (s.current) await refreshMe();
      else list.reload();
    }, t("The session has ended."));
  return (
    <Card title={t("Sessions")}>
      <Alert>{list.error}</Alert>
      <ActionState a={a} />
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <SessionTable rows={list.data} busy={a.busy} onEnd={end} />
      )}
    </Card>
  );
}

/** /app/security */
export function Security() {
  const user = useMe();
  if (!user) return null;
  return (
    <>
      <h1>{t("Security")}</h1>
      <PasswordCard />
      <PasskeysCard />
      <TotpCard on={!!user.totp_enabled} />
      <IdentitiesCard />
      <SessionsCard />
    </>
  );
}
