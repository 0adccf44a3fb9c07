// The console talks to Poolgate only through the TypeScript client generated from the specs
// (clients/ts). In the browser the session cookie authenticates every call (same origin).
import { createPoolgate, errorMessage } from "../../../clients/ts/src/index";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { t } from "./i18n";

export type { AdminSchema, UserSchema, PublicSchema, AuthSchema, GatewaySchema } from "../../../clients/ts/src/index";

/** Every contract's client on this origin. */
export const pg = createPoolgate({ baseUrl: location.origin, credentials: "same-origin" });

/** A refused or failed call: the server's own message, its HTTP status and stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a call, or an ApiError carrying the server's message (as the server words it). */
export async function must<T>(p: Promise<Result<T>>): Promise<T> {
  let r: Result<T>;
  try {
    r = await p;
  } catch (e) {
    throw new ApiError(t("The server could not be reached: {msg}", { msg: String((e as Error)?.message ?? e) }), 0);
  }
  if (r.error !== undefined || !r.response.ok) {
    const code = (r.error as { detail?: { code?: string } } | undefined)?.detail?.code;
    throw new ApiError(errorMessage(r.error, `HTTP ${r.response.status} ${r.response.statusText}`.trim()), r.response.status, code);
  }
  return r.data as T;
}

/** The message to show for a thrown value. */
export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A loaded value: data, the error message, whether it is loading, and reload. */
export interface Loaded<T> {
  data?: T;
  error?: string;
  status?: number;
  loading: boolean;
  reload: () => void;
}

/** Loads fn() when deps change; a reload keeps the old data on screen while it runs. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; status?: number; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  const live = useRef(0);
  useEffect(() => {
    const id = ++live.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => id === live.current && setState({ data, loading: false }),
      (e) => id === live.current && setState({ error: message(e), status: (e as ApiError).status, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

/** An action's state: run it, whether it runs, its error and its success notice. */
export interface Action {
  /** Runs fn; on success shows done (or what done makes of fn's result) as the notice. */
  run: <R>(fn: () => Promise<R>, done?: string | ((result: R) => string)) => Promise<boolean>;
  busy: boolean;
  error?: string;
  notice?: string;
  clear: () => void;
}

/** Runs one user action at a time, keeping its progress, error and success notice. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const run = useCallback(async <R,>(fn: () => Promise<R>, done?: string | ((result: R) => string)) => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      const r = await fn();
      const n = typeof done === "function" ? done(r) : done;
      if (n) setNotice(n);
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => {
    setError(undefined);
    setNotice(undefined);
  }, []);
  return { run, busy, error, notice, clear };
}
