// The administrator's console at /admin.
import type { JSX } from "preact";
import { t } from "../lib/i18n";
import { useLocation } from "../lib/router";
import type { UserSchema } from "../lib/api";
import { Gate } from "../ui/gate";
import { Alert, Card, Link } from "../ui/kit";
import { Shell, type NavItem } from "../ui/shell";
import { Channels } from "./channels";
import { Announcements, Groups, Monitors, ShareLinks } from "./lists";
import { Models } from "./models";
import { Orders, Plans } from "./money";
import { Multipliers } from "./multipliers";
import { HookDeliveries, Remote } from "./remote";
import { SignInProviders } from "./signin";
import { Codes } from "./codes";
import { Limits } from "./limits";
import { Settings } from "./settings";
import { Logs, Stats } from "./usage";
import { Users } from "./users";

const pages: Record<string, () => JSX.Element> = {
  "/admin": Channels,
  "/admin/channels": Channels,
  "/admin/models": Models,
  "/admin/users": Users,
  "/admin/groups": Groups,
  "/admin/logs": Logs,
  "/admin/stats": Stats,
  "/admin/monitors": Monitors,
  "/admin/remote": Remote,
  "/admin/hooks": HookDeliveries,
  "/admin/share-links": ShareLinks,
  "/admin/announcements": Announcements,
  "/admin/settings": Settings,
  "/admin/sign-in": SignInProviders,
  "/admin/limits": Limits,
  "/admin/codes": Codes,
  "/admin/multipliers": Multipliers,
  "/admin/plans": Plans,
  "/admin/orders": Orders,
};

/** /admin and its pages. */
export function AdminApp() {
  return <Gate admin>{(user) => <AdminArea user={user} />}</Gate>;
}

function AdminArea({ user }: { user: UserSchema<"User"> }) {
  const { path } = useLocation();
  if (user.role !== "admin")
    return (
      <main id="main" class="signin">
        <Card title={t("Administrators only")}>
          <p>{t("You are signed in as {name}, who is not an administrator.", { name: user.username })}</p>
          <Link href="/app">{t("Go to your console")}</Link>
        </Card>
      </main>
    );
  const nav: NavItem[] = [
    { href: "/admin/channels", label: t("Channels and accounts") },
    { href: "/admin/models", label: t("Models and prices") },
    { href: "/admin/users", label: t("Users") },
    { href: "/admin/groups", label: t("Groups") },
    { href: "/admin/limits", label: t("Limits") },
    { href: "/admin/codes", label: t("Redemption codes") },
    { href: "/admin/multipliers", label: t("Multipliers") },
    { href: "/admin/plans", label: t("Plans") },
    { href: "/admin/orders", label: t("Orders and payments") },
    { href: "/admin/logs", label: t("Logs") },
    { href: "/admin/stats", label: t("Statistics") },
    { href: "/admin/monitors", label: t("Status monitors") },
    { href: "/admin/remote", label: t("Remote sources") },
    { href: "/admin/hooks", label: t("Hook deliveries") },
    { href: "/admin/share-links", label: t("Share links") },
    { href: "/admin/announcements", label: t("Announcements") },
    { href: "/admin/sign-in", label: t("Sign-in providers") },
    { href: "/admin/settings", label: t("Settings") },
    { href: "/app", label: t("My console") },
  ];
  const Page = pages[path];
  return (
    <Shell area={t("Administration")} nav={nav}>
      {Page ? <Page /> : <Alert>{t("There is no page at this address.")}</Alert>}
    </Shell>
  );
}
