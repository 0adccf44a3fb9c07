// The API key just created or rotated in this tab, kept in memory only (never stored, never
// shown again) so the playground can use it right away.
import { store } from "./store";

/** The latest new key of this tab: its id, name and secret. */
export const freshKey = store<{ id: number; name: string; key: string } | null>(null);
