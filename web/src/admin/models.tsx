// /admin/models: prices (quota units per million tokens), the model-list sync from channels
// (preview, then apply) and the price sync from a price list (preview, then apply).
import { useState } from "preact/hooks";
import { must, pg, useAction, type AdminSchema } from "../lib/api";
import { num, t, when } from "../lib/i18n";
import { ActionState, Button, Card, Field, Table } from "../ui/kit";
import { int, intOrNull, str } from "../ui/form";
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
          { label: t("Updated"), cell: (m) => when(m.updated_at) },
        ]}
        specs={[
          { key: "name", label: t("Model"), required: true, createOnly: true },
          { key: "input_price", label: t("Input price (quota units per 1M tokens)"), type: "number", required: true },
          { key: "output_price", label: t("Output price (quota units per 1M tokens)"), type: "number", required: true },
          { key: "cached_input_price", label: t("Cached input price"), type: "number", hint: t("Empty: cached input costs the input price.") },
        ]}
        blank={{ name: "", input_price: "0", output_price: "0", cached_input_price: "" }}
        draftOf={(m) => ({ name: m.name, input_price: String(m.input_price), output_price: String(m.output_price), cached_input_price: m.cached_input_price === null ? "" : String(m.cached_input_price ?? "") })}
        create={(d) =>
          must(pg.admin.POST("/api/models", { body: { name: str(d, "name"), input_price: int(d, "input_price") ?? 0, output_price: int(d, "output_price") ?? 0, cached_input_price: intOrNull(d, "cached_input_price") } }))
        }
        update={(m, d) =>
          must(
            pg.admin.PUT("/api/models/{id}", {
              params: { path: { id: m.id } },
              body: { input_price: int(d, "input_price"), output_price: int(d, "output_price"), cached_input_price: intOrNull(d, "cached_input_price") },
            }),
          )
        }
        remove={(m) => must(pg.admin.DELETE("/api/models/{id}", { params: { path: { id: m.id } } }))}
      >
        {(list) => <PriceSync reload={list.reload} />}
      </Resource>
      <ModelSync />
    </>
  );
}
