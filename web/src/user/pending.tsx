// Pages whose server API has not reached this build yet: they say so plainly, and list what
// they will offer, rather than pretending.
import { t } from "../lib/i18n";
import { Card } from "../ui/kit";

/** A page waiting for its API. */
export function Pending(props: { title: string; items: string[] }) {
  return (
    <>
      <h1>{props.title}</h1>
      <Card>
        <p>{t("This server does not offer these yet:")}</p>
        <ul>
          {props.items.map((i) => (
            <li>{i}</li>
          ))}
        </ul>
      </Card>
    </>
  );
}
