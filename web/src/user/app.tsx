// The user's console at /app: sign-in, dashboard, API keys, usage, playground, wallet (top-up,
// orders, referral), plans, models with the user's prices, contributed accounts and security.
import { t } from "../lib/i18n";
import { useLocation } from "../lib/router";
import type { UserSchema } from "../lib/api";
import { Gate } from "../ui/gate";
import { Alert } from "../ui/kit";
import { Shell, type NavItem } from "../ui/shell";
import { Accounts } from "./accounts";
import { Dashboard } from "./dashboard";
import { Keys } from "./keys";
import { Models } from "./models";
import { Plans } from "./plans";
import { Playground } from "./playground";
import { Security } from "./security";
import { Usage } from "./usage";
import { Wallet } from "./wallet";

function page(path: string) {
  switch (path) {
    case "/app":
      return <Dashboard />;
    case "/app/keys":
      return <Keys />;
    case "/app/usage":
      return <Usage />;
    case "/app/playground":
      return <Playground />;
    case "/app/wallet":
      return <Wallet />;
    case "/app/plans":
      return <Plans />;
    case "/app/models":
      return <Models />;
    case "/app/accounts":
      return <Accounts />;
    case "/app/security":
      return <Security />;
    default:
      return <Alert>{t("There is no page at this address.")}</Alert>;
  }
}

/** /app and its pages. */
export function UserApp() {
  return <Gate>{(user) => <UserArea user={user} />}</Gate>;
}

function UserArea({ user }: { user: UserSchema<"User"> }) {
  const { path } = useLocation();
  const nav: NavItem[] = [
    { href: "/app", label: t("Dashboard") },
    { href: "/app/keys", label: t("API keys") },
    { href: "/app/playground", label: t("Playground") },
    { href: "/app/usage", label: t("Usage") },
    { href: "/app/wallet", label: t("Wallet") },
    { href: "/app/plans", label: t("Plans") },
    { href: "/app/models", label: t("Models and my prices") },
    { href: "/app/accounts", label: t("Contributed accounts") },
    { href: "/app/security", label: t("Security") },
    ...(user.role === "admin" ? [{ href: "/admin", label: t("Administration") }] : []),
  ];
  return (
    <Shell area={t("Console")} nav={nav}>
      {page(path)}
    </Shell>
  );
}
