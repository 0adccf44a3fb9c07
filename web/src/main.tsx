// The console's entry: picks the area from the path (/app, /admin, /share/{id}, /uptime,
// /pricing) — the Go server answers index.html for each.
import { render } from "preact";
import "./styles.css";
import { useLocation, match, navigate } from "./lib/router";
import { loadSite } from "./lib/session";
import { AdminApp } from "./admin/app";
import { UserApp } from "./user/app";
import { PricingPage, SharePage, StatusPage } from "./public/pages";
import "./lib/theme";

function Root() {
  const { path, query } = useLocation();
  if (path === "/admin" || path.startsWith("/admin/")) return <AdminApp />;
  if (path === "/uptime") return <StatusPage />;
  if (path === "/pricing") return <PricingPage />;
  const share = match("/share/:id", path);
  if (share) return <SharePage id={share.id!} />;
  if (path === "/chat/share" && query.get("shareId")) return <SharePage id={query.get("shareId")!} />;
  if (path !== "/app" && !path.startsWith("/app/")) {
    navigate("/app", true);
    return null;
  }
  return <UserApp />;
}

void loadSite();
render(<Root />, document.getElementById("root")!);
