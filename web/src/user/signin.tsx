// Sign-in and registration by every method the server offers: the password (with the TOTP
// prompt when the user has it on), single sign-on providers, passkeys, registration with an
// e-mail code when the site requires one, and a password reset by e-mail code.
import { useState } from "preact/hooks";
import { ApiError, must, pg, useAction } from "../lib/api";
import { t } from "../lib/i18n";
import { refreshMe, useSite } from "../lib/session";
import { passkeysSupported, signWithPasskey } from "../lib/webauthn";
import { ActionState, Button, Card, Field } from "../ui/kit";
import { Prefs } from "../ui/shell";

type Mode = "login" | "register" | "reset";

/** The referral code of a registration link (`/app?aff=…`), passed on to every way of signing up. */
function affOf(): string | undefined {
  const a = new URLSearchParams(location.search).get("aff") ?? "";
  return /^[A-Za-z0-9_-]{1,32}$/.test(a) ? a : undefined;
}

/** An input handler setting a text value. */
export const val = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);

/** A text field bound to a value. */
function Input(props: { label: string; value: string; set: (v: string) => void; type?: string; auto?: string; name?: string; required?: boolean; code?: boolean; hint?: string }) {
  return (
    <Field label={props.label} hint={props.hint}>
      {(id) => (
        <input
          id={id}
          name={props.name}
          type={props.type ?? "text"}
          autoComplete={props.auto}
          required={props.required}
          inputMode={props.code ? "numeric" : undefined}
          pattern={props.code ? "[0-9]{6}" : undefined}
          maxLength={props.code ? 6 : undefined}
          value={props.value}
          onInput={val(props.set)}
        />
      )}
    </Field>
  );
}

/** An e-mail address with a "Send a code" button, and the code's field. */
export function EmailCode(props: { email: string; setEmail?: (v: string) => void; code: string; setCode: (v: string) => void; send: () => Promise<unknown> }) {
  const a = useAction();
  return (
    <>
      {props.setEmail && <Input label={t("E-mail address")} name="email" type="email" auto="email" required value={props.email} set={props.setEmail} />}
      <div class="row">
        <Button busy={a.busy} disabled={!props.email} onClick={() => void a.run(props.send, t("A code is on its way to {email}; it is valid for 10 minutes.", { email: props.email }))}>
          {t("Send a code")}
        </Button>
      </div>
      <ActionState a={a} />
      <Input label={t("E-mail code")} name="email_code" auto="one-time-code" code required value={props.code} set={props.setCode} />
    </>
  );
}

/** The sign-in page shown to a signed-out visitor of /app or /admin. */
export function SignIn(props: { admin?: boolean }) {
  const site = useSite();
  const [mode, setMode] = useState<Mode>("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const a = useAction();
  const pk = useAction();
  const switchTo = (m: Mode) => {
    a.clear();
    setCode("");
    setTotp(null);
    setMode(m);
  };
  const submit = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      if (mode === "reset") {
        await must(pg.auth.POST("/auth/password/reset", { body: { email, email_code: code, new_password: password } }));
        setPassword("");
        switchTo("login");
        return;
      }
      if (mode === "register") {
        const withEmail = email ? { email, ...(code ? { email_code: code } : {}) } : {};
        const aff = affOf();
        await must(pg.auth.POST("/auth/password/register", { body: { username, password, ...withEmail, ...(aff ? { aff } : {}) } }));
      } else {
        try {
          await must(pg.auth.POST("/auth/password/login", { body: { username, password, ...(totp ? { totp_code: totp } : {}) } }));
        } catch (err) {
          // The password was right and a second factor is needed: ask for it.
          if (err instanceof ApiError && err.code === "totp_required" && totp === null) {
            setTotp("");
            return;
          }
          throw err;
        }
      }
      await refreshMe();
    }, mode === "reset" ? t("Your password is changed; sign in with it.") : undefined);
  };
  const passkey = () =>
    void pk.run(async () => {
      const options = await must(pg.auth.POST("/auth/passkey/login/options"));
      const assertion = await signWithPasskey(options);
      await must(pg.auth.POST("/auth/passkey/login", { body: assertion }));
      await refreshMe();
    });
  const title = props.admin
    ? t("Administrator sign-in")
    : mode === "login"
      ? t("Sign in")
      : mode === "register"
        ? t("Create an account")
        : t("Reset the password");
  const providers = site?.sso_providers ?? [];
  const back = props.admin ? "/admin" : location.pathname.startsWith("/app") ? location.pathname : "/app";
  return (
    <div class="signin">
      <header class="topbar">
        <span class="brand">{site?.site_name || "Poolgate"}</span>
        <Prefs />
      </header>
      <main id="main">
        <Card title={title}>
          <form onSubmit={submit} class="stack">
            {mode !== "reset" && <Input label={t("Username")} name="username" auto="username" required value={username} set={setUsername} />}
            {mode === "reset" && <EmailCode email={email} setEmail={setEmail} code={code} setCode={setCode} send={() => must(pg.auth.POST("/auth/password/email-code", { body: { email, purpose: "reset" } }))} />}
            {mode === "register" &&
              (site?.email_verification_required ? (
                <EmailCode email={email} setEmail={setEmail} code={code} setCode={setCode} send={() => must(pg.auth.POST("/auth/password/email-code", { body: { email, purpose: "register" } }))} />
              ) : (
                <Input label={t("E-mail address (optional)")} name="email" type="email" auto="email" value={email} set={setEmail} />
              ))}
            <Input
              label={mode === "reset" ? t("New password") : t("Password")}
              name="password"
              type="password"
              auto={mode === "login" ? "current-password" : "new-password"}
              required
              value={password}
              set={setPassword}
            />
            {totp !== null && (
              <Input label={t("Code from your authenticator app")} name="totp_code" auto="one-time-code" code required value={totp} set={setTotp} hint={t("Two-factor authentication is on for this account.")} />
            )}
            <ActionState a={a} />
            <Button kind="primary" type="submit" busy={a.busy}>
              {mode === "login" ? t("Sign in") : mode === "register" ? t("Register") : t("Set the new password")}
            </Button>
          </form>
          {mode === "login" && (providers.length > 0 || passkeysSupported()) && (
            <div class="stack signin-others">
              <p class="muted">{t("Or sign in with")}</p>
              {providers.map((p) => (
                <a class="btn btn-plain" href={`/auth/login?provider=${encodeURIComponent(p.slug)}&return_to=${encodeURIComponent(back)}${affOf() ? `&aff=${affOf()}` : ""}`}>
                  {p.name}
                </a>
              ))}
              {passkeysSupported() && (
                <Button busy={pk.busy} onClick={passkey}>
                  {t("A passkey")}
                </Button>
              )}
              <ActionState a={pk} />
            </div>
          )}
          <p class="muted">
            {mode !== "login" ? (
              <button type="button" class="linklike" onClick={() => switchTo("login")}>
                {t("Back to sign-in")}
              </button>
            ) : (
              <>
                {!props.admin && site?.registration_enabled && !site?.oidc_only && (
                  <>
                    {t("No account yet?")}{" "}
                    <button type="button" class="linklike" onClick={() => switchTo("register")}>
                      {t("Create an account")}
                    </button>{" "}
                  </>
                )}
                <button type="button" class="linklike" onClick={() => switchTo("reset")}>
                  {t("Forgot the password?")}
                </button>
              </>
            )}
          </p>
          {!props.admin && <p class="muted">{t("Have a sign-in link from your community? Open it to land here signed in.")}</p>}
        </Card>
      </main>
    </div>
  );
}
