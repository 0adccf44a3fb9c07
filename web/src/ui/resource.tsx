// A list of records with create, edit and delete in a dialog: the shape most admin pages share.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useAction, useLoad, type Loaded } from "../lib/api";
import { t } from "../lib/i18n";
import { ActionState, FormButtons, Alert, Button, Card, DeleteButton, Dialog, Loading, Table, type Column } from "./kit";
import { SpecFields, type Draft, type Spec } from "./form";

/** What a Resource needs to know about its records. */
export interface ResourceProps<T> {
  title: string;
  noun: string;
  load: () => Promise<T[]>;
  cols: Column<T>[];
  specs: Spec[];
  blank: Draft;
  draftOf: (row: T) => Draft;
  create?: (d: Draft) => Promise<unknown>;
  update?: (row: T, d: Draft) => Promise<unknown>;
  remove?: (row: T) => Promise<unknown>;
  /** Whether a row can be edited (default: every row, when update is given). */
  canEdit?: (row: T) => boolean;
  rowKey: (row: T) => string | number;
  name: (row: T) => string;
  /** More buttons on each row. */
  actions?: (row: T, list: Loaded<T[]>) => ComponentChildren;
  /** More buttons beside "Create". */
  tools?: (list: Loaded<T[]>) => ComponentChildren;
  /** Shown under the list (a detail panel, a sync preview). */
  children?: (list: Loaded<T[]>) => ComponentChildren;
}

/** A record list with its create/edit dialog. */
export function Resource<T>(p: ResourceProps<T>) {
  const list = useLoad(p.load, []);
  const [editing, setEditing] = useState<T | "new" | null>(null);
  const [draft, setDraft] = useState<Draft>(p.blank);
  const save = useAction();
  const row = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void save.run(async () => {
      if (editing === "new") await p.create!(draft);
      else if (editing) await p.update!(editing, draft);
      setEditing(null);
      list.reload();
    });
  };
  const cols: Column<T>[] = [
    ...p.cols,
    {
      label: t("Actions"),
      cell: (r) => (
        <div class="row">
          {p.actions?.(r, list)}
          {p.update && (p.canEdit?.(r) ?? true) && <Button onClick={() => (save.clear(), setDraft(p.draftOf(r)), setEditing(r))}>{t("Edit")}</Button>}
          {p.remove && (
            <DeleteButton
              a={row}
              noun={p.noun}
              name={p.name(r)}
              remove={async () => {
                await p.remove!(r);
                list.reload();
              }}
            />
          )}
        </div>
      ),
    },
  ];
  return (
    <>
      <Card
        title={p.title}
        actions={
          <>
            {p.tools?.(list)}
            {p.create && (
              <Button kind="primary" onClick={() => (save.clear(), setDraft(p.blank), setEditing("new"))}>
                {t("New {noun}", { noun: p.noun })}
              </Button>
            )}
          </>
        }
      >
        <ActionState a={row} />
        <Alert>{list.error}</Alert>
        {list.loading && !list.data ? <Loading /> : <Table label={p.title} rows={list.data} cols={cols} rowKey={p.rowKey} />}
      </Card>
      {p.children?.(list)}
      <Dialog title={editing === "new" ? t("New {noun}", { noun: p.noun }) : t("Edit {noun}", { noun: p.noun })} open={editing !== null} onClose={() => setEditing(null)} wide>
        <form onSubmit={submit} class="stack">
          <SpecFields specs={p.specs} draft={draft} onChange={setDraft} editing={editing !== "new"} />
          <ActionState a={save} />
          <FormButtons onCancel={() => setEditing(null)} busy={save.busy} label={editing === "new" ? t("Create") : t("Save")} />
        </form>
      </Dialog>
    </>
  );
}
