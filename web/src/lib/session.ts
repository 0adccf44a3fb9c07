// Who is signed in (GET /api/user/me with the session cookie) and the site's public settings.
import { ApiError, must, pg, type PublicSchema, type UserSchema } from "./api";
import { store, useStore } from "./store";

/** The signed-in user: undefined while unknown, null when signed out. */
export const me = store<UserSchema<"User"> | null | undefined>(undefined);

/** Why the signed-in user could not be read (the server down, ...), shown instead of the page. */
export const meError = store<string | undefined>(undefined);

/** Reads the signed-in user again (after a sign-in, or a change to the balance). */
export async function refreshMe(): Promise<void> {
  try {
    me.set(await must(pg.user.GET("/api/user/me")));
    meError.set(undefined);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) me.set(null);
    else meError.set((e as Error).message);
  }
}

/** Signs out: ends the session on the server and forgets the user. */
export async function signOut(): Promise<void> {
  await must(pg.auth.POST("/auth/logout"));
  me.set(null);
}

/** The signed-in user; re-renders on change. */
export const useMe = () => useStore(me);

/** The error reading the signed-in user, if any; re-renders on change. */
export const useMeError = () => useStore(meError);

/** The site's public settings (name, registration), loaded once. */
export const site = store<PublicSchema<"PublicSettings"> | undefined>(undefined);

/** Loads the public settings (errors leave the defaults). */
export async function loadSite(): Promise<void> {
  try {
    const s = await must(pg.public.GET("/api/public/settings"));
    site.set(s);
    document.title = s.site_name || "Poolgate";
  } catch {
    site.set({ site_name: "Poolgate", registration_enabled: false, needs_setup: false, version: "" });
  }
}

/** The public settings; re-renders on change. */
export const useSite = () => useStore(site);
