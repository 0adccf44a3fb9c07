// /admin/sign-in: the single sign-on providers (OpenID Connect or OAuth2) users sign in with.
import { must, pg, type AdminSchema } from "../lib/api";
import { t } from "../lib/i18n";
import { Badge } from "../ui/kit";
import { bool, str, strs, type Draft } from "../ui/form";
import { Resource } from "../ui/resource";

type Provider = AdminSchema<"OIDCProvider">;
type Kind = AdminSchema<"OIDCProviderKind">;

const urls = ["issuer", "authorization_url", "token_url", "userinfo_url"] as const;
const claims = ["claim_subject", "claim_username", "claim_email"] as const;

/** The fields a create and an update share; empty claim names and secrets are left out. */
function common(d: Draft) {
  const body: Record<string, unknown> = {
    name: str(d, "name"),
    client_id: str(d, "client_id"),
    auto_register: bool(d, "auto_register"),
    enabled: bool(d, "enabled"),
    claim_trust_level: str(d, "claim_trust_level"),
  };
  if (str(d, "kind")) body.kind = str(d, "kind") as Kind;
  if (str(d, "client_secret")) body.client_secret = str(d, "client_secret");
  if (strs(d, "scopes").length) body.scopes = strs(d, "scopes");
  for (const k of [...urls, ...claims]) if (str(d, k)) body[k] = str(d, k);
  return body;
}

/** /admin/sign-in */
export function SignInProviders() {
  return (
    <>
      <h1>{t("Sign-in providers")}</h1>
      <p class="muted">{t("Users sign in with these providers besides the password; register the redirect URI shown here at each provider.")}</p>
      <Resource<Provider>
        title={t("Sign-in providers")}
        noun={t("provider")}
        load={async () => (await must(pg.admin.GET("/api/oidc-providers"))).items}
        rowKey={(p) => p.id}
        name={(p) => p.name}
        cols={[
          { label: t("Name"), cell: (p) => <><strong>{p.name}</strong><div class="muted small">{p.slug}</div></> },
          { label: t("Kind"), cell: (p) => (p.kind === "oidc" ? "OpenID Connect" : "OAuth2") },
          { label: t("Client"), cell: (p) => <>{p.client_id}<div class="muted small">{p.has_client_secret ? t("secret set") : t("no secret")}</div></> },
          { label: t("Redirect URI"), cell: (p) => <code class="small">{p.redirect_uri}</code> },
          { label: t("Status"), cell: (p) => <><Badge value={p.enabled ? "active" : "disabled"} /> {p.auto_register && <Badge value={t("registers new users")} tone="info" />}</> },
        ]}
        specs={[
          { key: "slug", label: t("Slug"), required: true, createOnly: true, hint: t("Lower-case letters, digits, - and _; used in /auth/login?provider=") },
          { key: "name", label: t("Name"), required: true },
          { key: "preset", label: t("Preset"), type: "select", createOnly: true, options: [{ value: "", label: t("none") }, { value: "github", label: "GitHub" }, { value: "linuxdo", label: "Linux.do" }] },
          { key: "kind", label: t("Kind"), type: "select", options: [{ value: "", label: t("from the preset") }, { value: "oidc", label: "OpenID Connect" }, { value: "oauth2", label: "OAuth2" }] },
          { key: "issuer", label: t("Issuer (OpenID Connect)"), type: "url" },
          { key: "authorization_url", label: t("Authorization URL (OAuth2)"), type: "url" },
          { key: "token_url", label: t("Token URL (OAuth2)"), type: "url" },
          { key: "userinfo_url", label: t("Userinfo URL (OAuth2)"), type: "url" },
          { key: "client_id", label: t("Client id"), required: true },
          { key: "client_secret", label: t("Client secret"), type: "password", hint: t("Write-only: empty keeps the current one.") },
          { key: "scopes", label: t("Scopes"), hint: t("Comma-separated; empty for the default.") },
          { key: "claim_subject", label: t("Subject claim") },
          { key: "claim_username", label: t("Username claim") },
          { key: "claim_email", label: t("E-mail claim") },
          { key: "claim_trust_level", label: t("Trust level claim") },
          { key: "auto_register", label: t("A first sign-in creates the user"), type: "checkbox" },
          { key: "enabled", label: t("Enabled"), type: "checkbox" },
        ]}
        blank={{ slug: "", name: "", preset: "", kind: "", client_id: "", client_secret: "", scopes: "", auto_register: true, enabled: true }}
        draftOf={(p) => ({
          slug: p.slug,
          name: p.name,
          kind: p.kind,
          issuer: p.issuer,
          authorization_url: p.authorization_url,
          token_url: p.token_url,
          userinfo_url: p.userinfo_url,
          client_id: p.client_id,
          client_secret: "",
          scopes: p.scopes.join(", "),
          claim_subject: p.claim_subject,
          claim_username: p.claim_username,
          claim_email: p.claim_email,
          claim_trust_level: p.claim_trust_level,
          auto_register: p.auto_register,
          enabled: p.enabled,
        })}
        create={(d) =>
          must(
            pg.admin.POST("/api/oidc-providers", {
              body: {
                ...common(d),
                slug: str(d, "slug"),
                client_id: str(d, "client_id"),
                name: str(d, "name"),
                ...(str(d, "preset") ? { preset: str(d, "preset") as "github" | "linuxdo" } : {}),
              },
            }),
          )
        }
        update={(p, d) => must(pg.admin.PUT("/api/oidc-providers/{id}", { params: { path: { id: p.id } }, body: common(d) }))}
        remove={(p) => must(pg.admin.DELETE("/api/oidc-providers/{id}", { params: { path: { id: p.id } } }))}
      />
    </>
  );
}
