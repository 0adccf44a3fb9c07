// The console's small component kit: buttons that show progress, alerts that show the
// server's words, fields, tables, dialogs and pagers.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";
import { navigate } from "../lib/router";
import { t } from "../lib/i18n";
import type { Action } from "../lib/api";

/** A button; while busy it is disabled and shows a spinner (long actions show progress). */
export function Button(
  props: Omit<JSX.HTMLAttributes<HTMLButtonElement>, "type" | "disabled"> & { busy?: boolean; kind?: "primary" | "danger" | "plain"; type?: "button" | "submit"; disabled?: boolean },
) {
  const { busy, kind = "plain", children, disabled, class: cls, ...rest } = props;
  return (
    <button type="button" {...rest} class={`btn btn-${kind} ${cls ?? ""}`} disabled={busy || disabled} aria-busy={busy ? "true" : undefined}>
      {busy && <span class="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

/**
 * A row's Delete button: asks first (naming what goes), then removes it with the action's
 * progress, and "Deleted." or the server's refusal.
 */
export function DeleteButton(props: { a: Action; noun: string; name: string; remove: () => Promise<unknown>; question?: string }) {
  return (
    <Button
      kind="danger"
      busy={props.a.busy}
      onClick={() => confirm(props.question ?? t("Delete {noun} “{name}”?", { noun: props.noun, name: props.name })) && void props.a.run(props.remove, t("Deleted."))}
    >
      {t("Delete")}
    </Button>
  );
}

/** Saves a blob as a file the browser downloads (a CSV export, new codes). */
export function download(name: string, blob: Blob): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** An in-console link (no reload). */
export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, children, ...rest } = props;
  return (
    <a
      {...rest}
      href={href}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

/** An error as the server worded it. */
export function Alert({ children }: { children?: ComponentChildren }) {
  if (!children) return null;
  return (
    <p class="alert" role="alert">
      {children}
    </p>
  );
}

/** A success notice. */
export function Notice({ children }: { children?: ComponentChildren }) {
  if (!children) return null;
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

/** An action's error and notice. */
export function ActionState({ a }: { a: Action }) {
  return (
    <>
      <Alert>{a.error}</Alert>
      <Notice>{a.notice}</Notice>
    </>
  );
}

/** A loading line (for a region that is loading). */
export function Loading() {
  return (
    <p class="muted" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {t("Loading…")}
    </p>
  );
}

/** A card with an optional heading and actions. */
export function Card(props: { title?: string; actions?: ComponentChildren; children?: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${props.class ?? ""}`}>
      {(props.title || props.actions) && (
        <header class="card-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div class="row">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

/** A labelled form control; the control gets the label's id. */
export function Field(props: { label: string; hint?: string; children: (id: string) => ComponentChildren; wide?: boolean }) {
  const id = useId();
  return (
    <div class={`field ${props.wide ? "wide" : ""}`}>
      <label for={id}>{props.label}</label>
      {props.children(id)}
      {props.hint && <small class="muted">{props.hint}</small>}
    </div>
  );
}

/** A column of a Table. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  num?: boolean;
}

/** A table that scrolls sideways on narrow screens. */
export function Table<T>(props: { rows: T[] | undefined; cols: Column<T>[]; empty?: string; label: string; rowKey?: (r: T) => string | number }) {
  const rows = props.rows ?? [];
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      <table>
        <thead>
          <tr>
            {props.cols.map((c) => (
              <th scope="col" class={c.num ? "num" : ""}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={props.cols.length} class="muted">
                {props.empty ?? t("Nothing here yet.")}
              </td>
            </tr>
          )}
          {rows.map((r, i) => (
            <tr key={props.rowKey ? props.rowKey(r) : i}>
              {props.cols.map((c) => (
                <td class={c.num ? "num" : ""} data-label={c.label}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A modal dialog (the native <dialog>): Escape and the close button close it. */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children?: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class={props.wide ? "wide" : ""} onClose={props.onClose} aria-label={props.title}>
      {props.open && (
        <>
          <header class="card-head">
            <h2>{props.title}</h2>
            <button type="button" class="btn btn-plain" onClick={props.onClose} aria-label={t("Close")}>
              ×
            </button>
          </header>
          {props.children}
        </>
      )}
    </dialog>
  );
}

/** A dialog form's footer: Cancel, and the submit button showing progress. */
export function FormButtons(props: { onCancel: () => void; busy: boolean; label: string }) {
  return (
    <div class="row end">
      <Button onClick={props.onCancel}>{t("Cancel")}</Button>
      <Button kind="primary" type="submit" busy={props.busy}>
        {props.label}
      </Button>
    </div>
  );
}

/** Previous/next page buttons for page-numbered lists. */
export function Pager(props: { page: number; pageSize: number; total: number; onPage: (p: number) => void }) {
  const last = Math.max(1, Math.ceil(props.total / props.pageSize));
  return (
    <nav class="row pager" aria-label={t("Pages")}>
      <Button disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)}>
        {t("Previous")}
      </Button>
      <span class="muted">{t("Page {page} of {last}", { page: props.page, last })}</span>
      <Button disabled={props.page >= last} onClick={() => props.onPage(props.page + 1)}>
        {t("Next")}
      </Button>
    </nav>
  );
}

/** A status word as a coloured badge. */
export function Badge({ value, tone }: { value: string; tone?: "ok" | "warn" | "bad" | "info" }) {
  const auto =
    tone ??
    (["active", "up", "ok", "delivered", "success"].includes(value)
      ? "ok"
      : ["cooling", "pending", "running", "unknown", "needs_reauth"].includes(value)
        ? "warn"
        : ["disabled", "banned", "down", "dead", "failed"].includes(value)
          ? "bad"
          : "info");
  return <span class={`badge ${auto}`}>{t(value)}</span>;
}
