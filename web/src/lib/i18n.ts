// English and Simplified Chinese. The English text is the key; zh.ts maps it to Chinese
// (scripts/i18n-check.mjs fails the build when a t(…) literal has no Chinese entry). The
// language is the browser's until the user picks one, which is remembered in localStorage.
import { store, useStore } from "./store";
import { zh } from "./zh";

/** The console's languages. */
export type Lang = "en" | "zh-CN";

const KEY = "poolgate.lang";

function initial(): Lang {
  const saved = localStorage.getItem(KEY);
  if (saved === "en" || saved === "zh-CN") return saved;
  const prefs = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const l of prefs) {
    const s = (l || "").toLowerCase();
    if (s.startsWith("zh")) return "zh-CN";
    if (s.startsWith("en")) return "en";
  }
  return "en";
}

/** The current language. */
export const lang = store<Lang>(initial());
document.documentElement.lang = lang.get();

/** Switches the language and remembers the choice. */
export function setLang(l: Lang): void {
  localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
  lang.set(l);
}

/** Translates an English text into the current language, filling `{name}` placeholders. */
export function t(text: string, params?: Record<string, string | number>): string {
  let s = lang.get() === "zh-CN" ? (zh[text] ?? text) : text;
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  }
  return s;
}

/** Re-renders the component when the language changes; returns the current language. */
export const useLang = (): Lang => useStore(lang);

/** Formats an integer with the language's grouping. */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n.toLocaleString(lang.get());
}

/** Formats a timestamp in the browser's time zone. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang.get(), { dateStyle: "medium", timeStyle: "short" });
}

/** Formats a duration in seconds as `1h 02m 03s`. */
export function duration(sec: number): string {
  if (sec <= 0) return "0s";
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${String(s).padStart(2, "0")}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
