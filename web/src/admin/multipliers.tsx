// /admin/multipliers: the price multipliers beyond the group's own (docs/money.md § Multipliers):
// channel × group, channel model × group, and user × channel. Each set is replaced whole: pick
// what it belongs to, edit its rows (one per group or channel, in ‰), save.
import { useEffect, useState } from "preact/hooks";
import { must, pg, useAction, useLoad } from "../lib/api";
import { t } from "../lib/i18n";
import { ActionState, Alert, Button, Card, Field, Loading } from "../ui/kit";

/** One row of a multiplier set: whom it applies to (a group or channel id) and its ‰. */
interface Row {
  id: string;
  permille: string;
}

/** An option of the "applies to" select. */
interface Opt {
  value: number;
  label: string;
}

/**
 * The editor of one multiplier set: the rows of `owner` (loaded when it changes), each a target
 * and a multiplier in ‰; Save replaces the set and shows the server's answer or refusal.
 */
function SetEditor(props: {
  owner: number | undefined;
  targets: Opt[];
  targetLabel: string;
  load: (owner: number) => Promise<{ id: number; permille: number }[]>;
  save: (owner: number, rows: { id: number; permille: number }[]) => Promise<unknown>;
}) {
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const act = useAction();
  const { owner, load } = props;
  useEffect(() => {
    setRows([]);
    setError(undefined);
    act.clear();
    if (owner === undefined) return;
    setLoading(true);
    load(owner).then(
      (items) => (setRows(items.map((i) => ({ id: String(i.id), permille: String(i.permille) }))), setLoading(false)),
      (e) => (setError((e as Error).message), setLoading(false)),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [owner]);
  if (owner === undefined) return null;
  const set = (i: number, r: Partial<Row>) => setRows(rows.map((x, j) => (j === i ? { ...x, ...r } : x)));
  const free = props.targets.find((o) => !rows.some((r) => r.id === String(o.value)));
  // Until the owner's rows are in (or when they could not be read), a row added would be
  // replaced by them and a save would replace them: both wait.
  const unread = loading || error !== undefined;
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        if (unread) return;
        void act.run(
          () =>
            props.save(
              owner,
              rows.map((r) => ({ id: Number(r.id), permille: Math.trunc(Number(r.permille)) })),
            ),
          t("Saved."),
        );
      }}
    >
      <Alert>{error}</Alert>
      {loading && <Loading />}
      {rows.length === 0 && !loading && <p class="muted">{t("No multipliers: ×1 for all.")}</p>}
      {rows.map((r, i) => (
        <div class="row multiplier-row">
          <Field label={props.targetLabel}>
            {(id) => (
              <select id={id} value={r.id} onChange={(e) => set(i, { id: (e.target as HTMLSelectElement).value })}>
                {props.targets.map((o) => (
                  <option value={String(o.value)}>{o.label}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("Multiplier (‰)")}>
            {(id) => <input id={id} type="number" required min={0} step={1} value={r.permille} onInput={(e) => set(i, { permille: (e.target as HTMLInputElement).value })} />}
          </Field>
          <Button onClick={() => setRows(rows.filter((_, j) => j !== i))} aria-label={t("Remove row {n}", { n: i + 1 })}>
            {t("Remove")}
          </Button>
        </div>
      ))}
      <div class="row between">
        <Button disabled={!free || unread} onClick={() => free && setRows([...rows, { id: String(free.value), permille: "1000" }])}>
          {t("Add a row")}
        </Button>
        <Button kind="primary" type="submit" busy={act.busy} disabled={unread}>
          {t("Save")}
        </Button>
      </div>
      <ActionState a={act} />
    </form>
  );
}

/** A select of owners with an empty first choice. */
function OwnerSelect(props: { label: string; value: number | undefined; options: Opt[]; onChange: (v: number | undefined) => void }) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select id={id} value={props.value === undefined ? "" : String(props.value)} onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          props.onChange(v === "" ? undefined : Number(v));
        }}>
          <option value="">{t("Choose…")}</option>
          {props.options.map((o) => (
            <option value={String(o.value)}>{o.label}</option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** /admin/multipliers */
export function Multipliers() {
  const groups = useLoad(async () => (await must(pg.admin.GET("/api/groups"))).items.map((g) => ({ value: g.id, label: `${g.name} (#${g.id})` })), []);
  const channels = useLoad(async () => (await must(pg.admin.GET("/api/channels"))).items.map((c) => ({ value: c.id, label: `${c.name} (#${c.id})` })), []);
  const [channel, setChannel] = useState<number>();
  const [cmChannel, setCmChannel] = useState<number>();
  const [cm, setCm] = useState<number>();
  const models = useLoad(
    async () =>
      cmChannel === undefined ? [] : (await must(pg.admin.GET("/api/channels/{id}/models", { params: { path: { id: cmChannel } } }))).items.map((m) => ({ value: m.id, label: m.name })),
    [cmChannel],
  );
  const [userText, setUserText] = useState("");
  const [user, setUser] = useState<number>();
  const g = groups.data ?? [];
  const c = channels.data ?? [];
  return (
    <>
      <h1>{t("Multipliers")}</h1>
      <p class="muted">
        {t("A call costs its price × the group's multiplier × channel × group × channel model × group × user × channel (each in ‰; 1000 is ×1). A set is replaced whole when saved.")}
      </p>
      <Alert>{groups.error || channels.error}</Alert>
      <Card title={t("Channel × group")}>
        <OwnerSelect label={t("Channel")} value={channel} options={c} onChange={setChannel} />
        <SetEditor
          owner={channel}
          targets={g}
          targetLabel={t("Group")}
          load={async (id) => (await must(pg.admin.GET("/api/channels/{id}/group-multipliers", { params: { path: { id } } }))).items.map((i) => ({ id: i.group_id, permille: i.multiplier_permille }))}
          save={(id, rows) =>
            must(pg.admin.PUT("/api/channels/{id}/group-multipliers", { params: { path: { id } }, body: { items: rows.map((r) => ({ group_id: r.id, multiplier_permille: r.permille })) } }))
          }
        />
      </Card>
      <Card title={t("Channel model × group")}>
        <div class="form-grid">
          <OwnerSelect label={t("Channel of the model")} value={cmChannel} options={c} onChange={(v) => (setCm(undefined), setCmChannel(v))} />
          {cmChannel !== undefined && <OwnerSelect label={t("Channel model")} value={cm} options={models.data ?? []} onChange={setCm} />}
        </div>
        <Alert>{models.error}</Alert>
        <SetEditor
          owner={cm}
          targets={g}
          targetLabel={t("Group")}
          load={async (id) => (await must(pg.admin.GET("/api/channel-models/{id}/group-multipliers", { params: { path: { id } } }))).items.map((i) => ({ id: i.group_id, permille: i.multiplier_permille }))}
          save={(id, rows) =>
            must(pg.admin.PUT("/api/channel-models/{id}/group-multipliers", { params: { path: { id } }, body: { items: rows.map((r) => ({ group_id: r.id, multiplier_permille: r.permille })) } }))
          }
        />
      </Card>
      <Card title={t("User × channel")}>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const n = Math.trunc(Number(userText));
            setUser(n > 0 ? n : undefined);
          }}
        >
          <Field label={t("User id")}>{(id) => <input id={id} type="number" min={1} required value={userText} onInput={(e) => setUserText((e.target as HTMLInputElement).value)} />}</Field>
          <Button type="submit">{t("Open")}</Button>
        </form>
        <SetEditor
          owner={user}
          targets={c}
          targetLabel={t("Channel")}
          load={async (id) => (await must(pg.admin.GET("/api/users/{id}/channel-multipliers", { params: { path: { id } } }))).items.map((i) => ({ id: i.channel_id, permille: i.multiplier_permille }))}
          save={(id, rows) =>
            must(pg.admin.PUT("/api/users/{id}/channel-multipliers", { params: { path: { id } }, body: { items: rows.map((r) => ({ channel_id: r.id, multiplier_permille: r.permille })) } }))
          }
        />
      </Card>
    </>
  );
}
