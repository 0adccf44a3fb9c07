// Sign-in and registration by every method the server offers (the password today; e-mail
// codes, SSO providers, passkeys and TOTP join as the identity contract lands).
import { useState } from "preact/hooks";
import { must, pg, useAction } from "../lib/api";
import { t } from "../lib/i18n";
import { refreshMe, useSite } from "../lib/session";
import { ActionState, Button, Card, Field } from "../ui/kit";
import { Prefs } from "../ui/shell";

/** The sign-in page shown to a signed-out visitor of /app or /admin. */
export function SignIn(props: { admin?: boolean }) {
  const site = useSite();
  const [mode, setMode] = useState<"login" | "register">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const a = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const body = { username, password };
      if (mode === "login") await must(pg.auth.POST("/auth/password/login", { body }));
      else await must(pg.auth.POST("/auth/password/register", { body }));
      await refreshMe();
    });
  };
  const title = props.admin ? t("Administrator sign-in") : mode === "login" ? t("Sign in") : t("Create an account");
  return (
    <div class="signin">
      <header class="topbar">
        <span class="brand">{site?.site_name || "Poolgate"}</span>
        <Prefs />
      </header>
      <main id="main">
        <Card title={title}>
          <form onSubmit={submit} class="stack">
            <Field label={t("Username")}>
              {(id) => (
                <input id={id} name="username" autoComplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
              )}
            </Field>
            <Field label={t("Password")}>
              {(id) => (
                <input
                  id={id}
                  name="password"
                  type="password"
                  autoComplete={mode === "login" ? "current-password" : "new-password"}
                  required
                  value={password}
                  onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
                />
              )}
            </Field>
            <ActionState a={a} />
            <Button kind="primary" type="submit" busy={a.busy}>
              {mode === "login" ? t("Sign in") : t("Register")}
            </Button>
          </form>
          {!props.admin && site?.registration_enabled && (
            <p class="muted">
              {mode === "login" ? t("No account yet?") : t("Already registered?")}{" "}
              <button type="button" class="linklike" onClick={() => (a.clear(), setMode(mode === "login" ? "register" : "login"))}>
                {mode === "login" ? t("Create an account") : t("Sign in")}
              </button>
            </p>
          )}
          {!props.admin && <p class="muted">{t("Have a sign-in link from your community? Open it to land here signed in.")}</p>}
        </Card>
      </main>
    </div>
  );
}
