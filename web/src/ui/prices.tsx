// A table of model prices (quota units per million tokens; per call and per image as stated),
// every dimension the server charges: the user's catalog, the public pricing page.
import type { ComponentChildren } from "preact";
import { num, t } from "../lib/i18n";
import type { PublicSchema } from "../lib/api";
import { Table, type Column } from "./kit";

/** A model's resolved prices (the same shape in every contract). */
export type Price = PublicSchema<"ModelPrice">;

/** The columns of every price dimension; extra columns (the multiplier) go after the name. */
export function priceCols<T>(price: (r: T) => Price, extra: Column<T>[] = [], base?: (r: T) => Price): Column<T>[] {
  const cell = (k: keyof Omit<Price, "name" | "prompt_tier">) => (r: T) => {
    const v = price(r)[k];
    const b = base?.(r)[k];
    return (
      <>
        {num(v)}
        {b !== undefined && b !== v && <div class="muted small">{t("list {n}", { n: num(b) })}</div>}
      </>
    );
  };
  return [
    { label: t("Model"), cell: (r) => <code class="nowrap">{price(r).name}</code> },
    ...extra,
    { label: t("Input / 1M tokens"), cell: cell("input_price"), num: true },
    { label: t("Output / 1M tokens"), cell: cell("output_price"), num: true },
    { label: t("Cached input / 1M tokens"), cell: cell("cached_input_price"), num: true },
    { label: t("Cache write 5m / 1M"), cell: cell("cache_write_5m_price"), num: true },
    { label: t("Cache write 1h / 1M"), cell: cell("cache_write_1h_price"), num: true },
    { label: t("Reasoning / 1M tokens"), cell: cell("reasoning_price"), num: true },
    { label: t("Per call"), cell: cell("per_call_price"), num: true },
    { label: t("Per image"), cell: cell("image_price"), num: true },
    { label: t("Long prompts"), cell: (r) => tier(price(r)) },
  ];
}

/** The long-prompt tier in a few words, or a dash. */
function tier(p: Price): ComponentChildren {
  const x = p.prompt_tier;
  if (!x) return <span class="muted">—</span>;
  return t("above {k} tokens: {i} / {o}", { k: num(x.above_tokens), i: num(x.input_price), o: num(x.output_price) });
}

/** A price table. */
export function PriceTable<T>(props: { label: string; rows: T[] | undefined; price: (r: T) => Price; extra?: Column<T>[]; base?: (r: T) => Price; empty?: string }) {
  return <Table label={props.label} rows={props.rows} rowKey={(r) => props.price(r).name} cols={priceCols(props.price, props.extra, props.base)} empty={props.empty} />;
}
