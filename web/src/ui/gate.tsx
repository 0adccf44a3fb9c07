// The signed-in gate of /app and /admin: reads who is signed in once, shows the server's words
// when that fails, the sign-in page when nobody is, and the area otherwise.
import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import type { UserSchema } from "../lib/api";
import { useLang } from "../lib/i18n";
import { refreshMe, useMe, useMeError } from "../lib/session";
import { SignIn } from "../user/signin";
import { Alert, Loading } from "./kit";

/** Renders children with the signed-in user, or what stands in their place. */
export function Gate(props: { admin?: boolean; children: (user: UserSchema<"User">) => ComponentChildren }) {
  useLang();
  const user = useMe();
  const failed = useMeError();
  useEffect(() => {
    if (user === undefined) void refreshMe();
  }, [user]);
  if (user === undefined && failed)
    return (
      <main id="main" class="signin">
        <Alert>{failed}</Alert>
      </main>
    );
  if (user === undefined) return <Loading />;
  if (user === null) return <SignIn admin={props.admin} />;
  return <>{props.children(user)}</>;
}
