// The page frame: the site's name, the navigation (a sidebar on wide screens, a scrolling strip
// at 375 px), the language and theme switches, and sign-out.
import type { ComponentChildren } from "preact";
import { setLang, t, useLang, type Lang } from "../lib/i18n";
import { setTheme, theme, type Theme } from "../lib/theme";
import { useStore } from "../lib/store";
import { useLocation } from "../lib/router";
import { signOut, useMe, useSite } from "../lib/session";
import { Link } from "./kit";

/** One navigation entry. */
export interface NavItem {
  href: string;
  label: string;
}

/** The language and theme switches. */
export function Prefs() {
  const l = useLang();
  const th = useStore(theme);
  return (
    <div class="prefs row">
      <label class="sr-only" for="pref-lang">
        {t("Language")}
      </label>
      <select id="pref-lang" value={l} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        <option value="en">English</option>
        <option value="zh-CN">简体中文</option>
      </select>
      <label class="sr-only" for="pref-theme">
        {t("Theme")}
      </label>
      <select id="pref-theme" value={th} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as Theme)}>
        <option value="system">{t("System theme")}</option>
        <option value="light">{t("Light")}</option>
        <option value="dark">{t("Dark")}</option>
      </select>
    </div>
  );
}

/** The frame around an area's pages. */
export function Shell(props: { area: string; nav: NavItem[]; children?: ComponentChildren }) {
  const site = useSite();
  const user = useMe();
  const { path } = useLocation();
  const current = props.nav.reduce<NavItem | undefined>(
    (best, n) => ((path === n.href || path.startsWith(n.href + "/")) && (!best || n.href.length > best.href.length) ? n : best),
    undefined,
  );
  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t("Skip to content")}
      </a>
      <header class="topbar">
        <span class="brand">
          {site?.site_name || "Poolgate"} <small class="muted">{props.area}</small>
        </span>
        <div class="row topbar-end">
          <Prefs />
          {user && (
            <>
              <span class="muted who">{user.username}</span>
              <button type="button" class="btn btn-plain" onClick={() => signOut().catch(() => location.reload())}>
                {t("Sign out")}
              </button>
            </>
          )}
        </div>
      </header>
      <nav class="sidenav" aria-label={props.area}>
        <ul>
          {props.nav.map((n) => (
            <li>
              <Link href={n.href} aria-current={current === n ? "page" : undefined}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}

/** A simple frame for public pages (status, pricing, share chat). */
export function PublicFrame(props: { title: string; children?: ComponentChildren }) {
  const site = useSite();
  return (
    <div class="public">
      <header class="topbar">
        <span class="brand">{site?.site_name || "Poolgate"}</span>
        <Prefs />
      </header>
      <main id="main">
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </div>
  );
}
