// /admin/models: prices (quota units per million tokens), the model-list sync from channels
// (preview, then apply) and the price sync from a price list (preview, then apply).
import { useState } from "preact/hooks";
import { must, pg, useAction, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Button, Card, Field, Table } from "../ui/kit";
import { int, intOrNull, str, type Draft } from "../ui/form";
import { Resource } from "../ui/resource";

type Model = AdminSchema<"Model">;

function ModelSync() {
  const a = useAction();
  const [preview, setPreview] = useState<AdminSchema<"ModelSyncPreview"> | null>(null);
  const [remove, setRemove] = useState(false);
  return (
    <Card title={t("Model lists from channels")}>
      <p class="muted">{t("Ask every channel's upstream for its models, review the difference, then apply it.")}</p>
      <div class="row">
        <Button busy={a.busy} onClick={() => void a.run(async () => setPreview(await must(pg.admin.POST("/api/models/sync/preview", { body: {} }))))}>
          {t("Preview")}
        </Button>
        {preview && (
          <>
            <label class="check">
              <input type="checkbox" checked={remove} onChange={(e) => setRemove((e.target as HTMLInputElement).checked)} /> {t("Also remove models the upstream no longer lists")}
            </label>
            <Button
              kind="primary"
              busy={a.busy}
              onClick={() =>
                void a.run(async () => {
                  await must(pg.admin.POST("/api/models/sync/apply", { body: { remove } }));
                  setPreview(null);
                }, t("Applied."))
              }
            >
              {t("Apply")}
            </Button>
          </>
        )}
      </div>
      <ActionState a={a} />
      {preview && (
        <Table
          label={t("Model list changes")}
          rows={preview.items}
          cols={[
            { label: t("Channel"), cell: (i) => i.channel_name },
            { label: t("Add"), cell: (i) => i.add.join(", ") || "—" },
            { label: t("Remove"), cell: (i) => i.remove.join(", ") || "—" },
            { label: t("Fetched"), cell: (i) => when(i.synced_at) },
          ]}
        />
      )}
    </Card>
  );
}

function PriceSync({ reload }: { reload: () => void }) {
  const a = useAction();
  const [url, setUrl] = useState("");
  const [rate, setRate] = useState("");
  const [preview, setPreview] = useState<AdminSchema<"PriceSyncPreview"> | null>(null);
  const body = () => ({ url: url.trim(), ...(rate ? { quota_per_usd: Number(rate) } : {}) });
  const fmt = (p: AdminSchema<"PriceSet"> | null) =>
    !p ? "—" : `${num(p.input_price)} / ${num(p.output_price)}${p.cached_input_price !== null && p.cached_input_price !== undefined ? ` / ${num(p.cached_input_price)}` : ""}`;
  return (
    <Card title={t("Prices from a price list")}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(async () => setPreview(await must(pg.admin.POST("/api/models/prices/sync/preview", { body: body() }))));
        }}
      >
        <Field label={t("Price list URL")}>{(id) => <input id={id} type="url" required value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />}</Field>
        <Field label={t("Quota units per USD")} hint={t("Empty for the server's default.")}>
          {(id) => <input id={id} type="number" min={1} value={rate} onInput={(e) => setRate((e.target as HTMLInputElement).value)} />}
        </Field>
        <div class="row end">
          <Button type="submit" busy={a.busy}>
            {t("Preview")}
          </Button>
          {preview && (
            <Button
              kind="primary"
              busy={a.busy}
              onClick={() =>
                void a.run(async () => {
                  await must(pg.admin.POST("/api/models/prices/sync/apply", { body: body() }));
                  setPreview(null);
                  reload();
                }, t("Applied."))
              }
            >
              {t("Apply")}
            </Button>
          )}
        </div>
      </form>
      <ActionState a={a} />
      {preview && (
        <>
          <p class="muted">{t("{n} prices unchanged.", { n: preview.unchanged })}</p>
          <Table
            label={t("Price changes")}
            rows={preview.items}
            cols={[
              { label: t("Model"), cell: (i) => i.name },
              { label: t("Action"), cell: (i) => t(i.action) },
              { label: t("Current"), cell: (i) => fmt(i.current) },
              { label: t("Proposed"), cell: (i) => fmt(i.proposed) },
            ]}
          />
        </>
      )}
    </Card>
  );
}

/** A nullable price as draft text. */
const opt = (v: number | null | undefined) => (v === null || v === undefined ? "" : String(v));

/** The prices of a model's draft (empty nullable prices reset to their defaults). */
function prices(d: Draft) {
  const above = int(d, "tier_above");
  return {
    input_price: int(d, "input_price"),
    output_price: int(d, "output_price"),
    cached_input_price: intOrNull(d, "cached_input_price"),
    cache_write_5m_price: intOrNull(d, "cache_write_5m_price"),
    cache_write_1h_price: intOrNull(d, "cache_write_1h_price"),
    reasoning_price: intOrNull(d, "reasoning_price"),
    per_call_price: int(d, "per_call_price") ?? 0,
    image_price: int(d, "image_price") ?? 0,
    prompt_tier:
      above === undefined
        ? null
        : {
            above_tokens: above,
            input_price: int(d, "tier_input") ?? 0,
            output_price: int(d, "tier_output") ?? 0,
            cached_input_price: intOrNull(d, "tier_cached_input"),
            cache_write_5m_price: intOrNull(d, "tier_cache_write_5m"),
            cache_write_1h_price: intOrNull(d, "tier_cache_write_1h"),
            reasoning_price: intOrNull(d, "tier_reasoning"),
          },
  };
}

/** A model's prices beyond input, output and cached input, in a few words. */
function extras(m: Model): string {
  const parts: string[] = [];
  if (m.cache_write_5m_price !== null) parts.push(t("cache write 5m {n}", { n: num(m.cache_write_5m_price) }));
  if (m.cache_write_1h_price !== null) parts.push(t("cache write 1h {n}", { n: num(m.cache_write_1h_price) }));
  if (m.reasoning_price !== null) parts.push(t("reasoning {n}", { n: num(m.reasoning_price) }));
  if (m.per_call_price) parts.push(t("{n} per call", { n: num(m.per_call_price) }));
  if (m.image_price) parts.push(t("{n} per image", { n: num(m.image_price) }));
  if (m.prompt_tier) parts.push(t("above {k} tokens: {i} / {o}", { k: num(m.prompt_tier.above_tokens), i: num(m.prompt_tier.input_price), o: num(m.prompt_tier.output_price) }));
  return parts.join("; ") || "—";
}

/** /admin/models */
export function Models() {
  return (
    <>
      <h1>{t("Models and prices")}</h1>
      <Resource<Model>
        title={t("Prices")}
        noun={t("price")}
        load={async () => (await must(pg.admin.GET("/api/models"))).items}
        rowKey={(m) => m.id}
        name={(m) => m.name}
        cols={[
          { label: t("Model"), cell: (m) => m.name },
          { label: t("Input / 1M tokens"), cell: (m) => num(m.input_price), num: true },
          { label: t("Output / 1M tokens"), cell: (m) => num(m.output_price), num: true },
          { label: t("Cached input / 1M tokens"), cell: (m) => num(m.cached_input_price), num: true },
          { label: t("Other prices"), cell: (m) => extras(m) },
          { label: t("Updated"), cell: (m) => when(m.updated_at) },
        ]}
        specs={[
          { key: "name", label: t("Model"), required: true, createOnly: true },
          { key: "input_price", label: t("Input price (quota units per 1M tokens)"), type: "number", required: true },
          { key: "output_price", label: t("Output price (quota units per 1M tokens)"), type: "number", required: true },
          { key: "cached_input_price", label: t("Cached input price"), type: "number", hint: t("Empty: cached input costs the input price.") },
          { key: "cache_write_5m_price", label: t("Cache write price (5 minutes)"), type: "number", hint: t("Empty: the input price.") },
          { key: "cache_write_1h_price", label: t("Cache write price (1 hour)"), type: "number", hint: t("Empty: the input price.") },
          { key: "reasoning_price", label: t("Reasoning price"), type: "number", hint: t("Empty: the output price.") },
          { key: "per_call_price", label: t("Price per call (quota units)"), type: "number" },
          { key: "image_price", label: t("Price per image (quota units)"), type: "number" },
          { key: "tier_above", label: t("Long prompts: above this many tokens"), type: "number", hint: t("Empty: no long-prompt prices. Above it, the whole call is priced at the long-prompt prices below.") },
          { key: "tier_input", label: t("Long prompts: input price"), type: "number" },
          { key: "tier_output", label: t("Long prompts: output price"), type: "number" },
          { key: "tier_cached_input", label: t("Long prompts: cached input price"), type: "number", hint: t("Empty: the long-prompt input price.") },
          { key: "tier_cache_write_5m", label: t("Long prompts: cache write price (5 minutes)"), type: "number", hint: t("Empty: the long-prompt input price.") },
          { key: "tier_cache_write_1h", label: t("Long prompts: cache write price (1 hour)"), type: "number", hint: t("Empty: the long-prompt input price.") },
          { key: "tier_reasoning", label: t("Long prompts: reasoning price"), type: "number", hint: t("Empty: the long-prompt output price.") },
        ]}
        blank={{ name: "", input_price: "0", output_price: "0", cached_input_price: "", cache_write_5m_price: "", cache_write_1h_price: "", reasoning_price: "", per_call_price: "0", image_price: "0", tier_above: "", tier_input: "", tier_output: "", tier_cached_input: "", tier_cache_write_5m: "", tier_cache_write_1h: "", tier_reasoning: "" }}
        draftOf={(m) => ({
          name: m.name,
          input_price: String(m.input_price),
          output_price: String(m.output_price),
          cached_input_price: opt(m.cached_input_price),
          cache_write_5m_price: opt(m.cache_write_5m_price),
          cache_write_1h_price: opt(m.cache_write_1h_price),
          reasoning_price: opt(m.reasoning_price),
          per_call_price: String(m.per_call_price),
          image_price: String(m.image_price),
          tier_above: opt(m.prompt_tier?.above_tokens),
          tier_input: opt(m.prompt_tier?.input_price),
          tier_output: opt(m.prompt_tier?.output_price),
          tier_cached_input: opt(m.prompt_tier?.cached_input_price),
          tier_cache_write_5m: opt(m.prompt_tier?.cache_write_5m_price),
          tier_cache_write_1h: opt(m.prompt_tier?.cache_write_1h_price),
          tier_reasoning: opt(m.prompt_tier?.reasoning_price),
        })}
        create={(d) => must(pg.admin.POST("/api/models", { body: { name: str(d, "name"), ...prices(d), input_price: int(d, "input_price") ?? 0, output_price: int(d, "output_price") ?? 0 } }))}
        update={(m, d) => must(pg.admin.PUT("/api/models/{id}", { params: { path: { id: m.id } }, body: prices(d) }))}
        remove={(m) => must(pg.admin.DELETE("/api/models/{id}", { params: { path: { id: m.id } } }))}
      >
        {(list) => <PriceSync reload={list.reload} />}
      </Resource>
      <ModelSync />
    </>
  );
}
