// /app/models: the models the user can call, with what each costs them after their group's,
// channels' and their own multipliers (the list price beside it when it differs).
import { must, pg, useLoad } from "../lib/api";
import { t } from "../lib/i18n";
import { Alert, Card, Loading } from "../ui/kit";
import { PriceTable } from "../ui/prices";

/** /app/models */
export function Models() {
  const c = useLoad(() => must(pg.user.GET("/api/user/catalog")), []);
  return (
    <>
      <h1>{t("Models and my prices")}</h1>
      <Card title={t("My prices")}>
        <p class="muted">
          {t("Quota units per million tokens (per call and per image as stated), after your multipliers; a model several channels serve shows the highest.")}
          {c.data && ` ${t("Your group's multiplier: ×{m}.", { m: (c.data.group_multiplier_permille / 1000).toFixed(3) })}`}
        </p>
        <Alert>{c.error}</Alert>
        {c.loading && !c.data ? (
          <Loading />
        ) : (
          <PriceTable
            label={t("My prices")}
            rows={c.data?.items}
            price={(m) => m.effective}
            base={(m) => m.price}
            extra={[{ label: t("Multiplier"), cell: (m) => `×${(m.multiplier_permille / 1000).toFixed(3)}`, num: true }]}
            empty={t("No model is open to you yet.")}
          />
        )}
      </Card>
    </>
  );
}
