// Client-side routing over the History API: the Go server answers index.html for every console
// path, and the app picks the page from location.pathname.
import { store, useStore } from "./store";

/** The current path and query. */
export interface Loc {
  path: string;
  query: URLSearchParams;
}

function read(): Loc {
  return { path: location.pathname.replace(/\/+$/, "") || "/", query: new URLSearchParams(location.search) };
}

const loc = store<Loc>(read());
addEventListener("popstate", () => loc.set(read()));

/** Goes to href inside the console without reloading. */
export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  loc.set(read());
  window.scrollTo(0, 0);
}

/** The current location; re-renders on navigation. */
export const useLocation = (): Loc => useStore(loc);

/**
 * Matches path against a pattern with `:name` segments; returns the parameters or null.
 * A trailing `*` matches the rest.
 */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.split("/");
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === "*") return out;
    if (i >= s.length) return null;
    if (seg.startsWith(":")) out[seg.slice(1)] = decodeURIComponent(s[i]!);
    else if (seg !== s[i]) return null;
  }
  return p.length === s.length ? out : null;
}
