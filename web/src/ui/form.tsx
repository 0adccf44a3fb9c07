// Forms described by field specs: the admin pages declare their fields, a draft holds the typed
// text, and each page turns the draft into its request body.
import type { ComponentChildren } from "preact";
import { t } from "../lib/i18n";
import { Field } from "./kit";

/** A draft: each field's typed value. */
export type Draft = Record<string, string | boolean>;

/** One form field. */
export interface Spec {
  key: string;
  label: string;
  type?: "text" | "number" | "select" | "checkbox" | "textarea" | "datetime" | "password" | "url";
  options?: { value: string; label: string }[];
  hint?: string;
  required?: boolean;
  placeholder?: string;
  /** Only when creating. */
  createOnly?: boolean;
  /** Only when editing. */
  editOnly?: boolean;
}

/** The fields of specs bound to draft. */
export function SpecFields(props: { specs: Spec[]; draft: Draft; onChange: (d: Draft) => void; editing: boolean; children?: ComponentChildren }) {
  const d = props.draft;
  return (
    <div class="form-grid">
      {props.specs
        .filter((s) => !(props.editing && s.createOnly) && !(!props.editing && s.editOnly))
        .map((s) => {
          const v = d[s.key];
          const set = (val: string | boolean) => props.onChange({ ...d, [s.key]: val });
          if (s.type === "checkbox")
            return (
              <div class="field check">
                <label>
                  <input type="checkbox" checked={v === true} onChange={(e) => set((e.target as HTMLInputElement).checked)} /> {s.label}
                </label>
                {s.hint && <small class="muted">{s.hint}</small>}
              </div>
            );
          return (
            <Field label={s.label} hint={s.hint} wide={s.type === "textarea"}>
              {(id) =>
                s.type === "select" ? (
                  <select id={id} value={String(v ?? "")} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
                    {s.options?.map((o) => (
                      <option value={o.value}>{o.label}</option>
                    ))}
                  </select>
                ) : s.type === "textarea" ? (
                  <textarea id={id} rows={4} required={s.required} placeholder={s.placeholder} value={String(v ?? "")} onInput={(e) => set((e.target as HTMLTextAreaElement).value)} />
                ) : (
                  <input
                    id={id}
                    type={s.type === "datetime" ? "datetime-local" : (s.type ?? "text")}
                    step={s.type === "number" ? "any" : undefined}
                    autoComplete={s.type === "password" ? "new-password" : "off"}
                    required={s.required}
                    placeholder={s.placeholder}
                    value={String(v ?? "")}
                    onInput={(e) => set((e.target as HTMLInputElement).value)}
                  />
                )
              }
            </Field>
          );
        })}
      {props.children}
    </div>
  );
}

/** A draft field as text. */
export const str = (d: Draft, k: string): string => String(d[k] ?? "").trim();
/** A draft field as an integer, or undefined when empty. */
export const int = (d: Draft, k: string): number | undefined => (str(d, k) === "" ? undefined : Math.trunc(Number(str(d, k))));
/** A draft field as an integer, or null when empty. */
export const intOrNull = (d: Draft, k: string): number | null => int(d, k) ?? null;
/** A draft field as a list (comma- or line-separated). */
export const strs = (d: Draft, k: string): string[] =>
  str(d, k)
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);
/** A draft field as a boolean. */
export const bool = (d: Draft, k: string): boolean => d[k] === true;

/** Options from a list of words, labelled by their translation. */
export const opts = (...vs: string[]) => vs.map((v) => ({ value: v, label: t(v) }));
