// A user's signed-in sessions as a table (when and how each signed in, last seen, address and
// browser), each with a button ending it: the user's /app/security and an administrator's view of
// a user in /admin/users show the same list.
import type { UserSchema } from "../lib/api";
import { t, when } from "../lib/i18n";
import { Badge, Button, Table } from "./kit";

/** One live session (never its secret). */
export type Session = UserSchema<"SessionInfo">;

/** The sessions; `current` is marked "this browser" and its button says "Sign out". */
export function SessionTable(props: { rows: Session[] | undefined; busy: boolean; onEnd: (s: Session) => void }) {
  return (
    <Table<Session>
      label={t("Sessions")}
      rows={props.rows}
      rowKey={(s) => s.id}
      empty={t("No live session.")}
      cols={[
        { label: t("Signed in"), cell: (s) => <>{when(s.created_at)} {s.current && <Badge value={t("this browser")} tone="ok" />}</> },
        { label: t("Method"), cell: (s) => t(s.method) },
        { label: t("Last seen"), cell: (s) => when(s.last_seen_at) },
        { label: t("Address"), cell: (s) => s.ip || "—" },
        { label: t("Browser"), cell: (s) => <span class="small clamp">{s.user_agent || "—"}</span> },
        {
          label: t("Actions"),
          cell: (s) => (
            <Button kind="danger" busy={props.busy} onClick={() => props.onEnd(s)}>
              {s.current ? t("Sign out") : t("End")}
            </Button>
          ),
        },
      ]}
    />
  );
}
