// Light and dark: the system's preference until the user picks one (remembered).
import { store } from "./store";

/** A theme choice. */
export type Theme = "system" | "light" | "dark";

const KEY = "poolgate.theme";

function apply(v: Theme): void {
  if (v === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = v;
}

const saved = localStorage.getItem(KEY);
/** The current theme choice. */
export const theme = store<Theme>(saved === "light" || saved === "dark" ? saved : "system");
apply(theme.get());

/** Picks a theme and remembers it. */
export function setTheme(v: Theme): void {
  localStorage.setItem(KEY, v);
  apply(v);
  theme.set(v);
}
