-- name: OIDCProviderList :many
SELECT * FROM oidc_providers ORDER BY id;

-- name: OIDCProviderGet :one
SELECT * FROM oidc_providers WHERE id = @id;

-- name: OIDCProviderGetBySlug :one
SELECT * FROM oidc_providers WHERE slug = @slug;

-- name: OIDCProviderCreate :one
INSERT INTO oidc_providers (slug, name, kind, issuer, authorization_url, token_url, userinfo_url, client_id,
    client_secret_enc, scopes, auto_register, enabled, claim_subject, claim_username, claim_email, claim_trust_level)
VALUES (@slug, @name, @kind, @issuer, @authorization_url, @token_url, @userinfo_url, @client_id,
    sqlc.narg('client_secret_enc'), @scopes, @auto_register, @enabled, @claim_subject, @claim_username, @claim_email,
    @claim_trust_level)
RETURNING *;

-- name: OIDCProviderUpdate :one
-- OIDCProviderUpdate replaces a provider's settings; the secret changes only when set_secret.
UPDATE oidc_providers SET
    name = @name, kind = @kind, issuer = @issuer, authorization_url = @authorization_url, token_url = @token_url,
    userinfo_url = @userinfo_url, client_id = @client_id,
    client_secret_enc = CASE WHEN @set_secret::boolean THEN sqlc.narg('client_secret_enc')::bytea ELSE client_secret_enc END,
    scopes = @scopes, auto_register = @auto_register, enabled = @enabled, claim_subject = @claim_subject,
    claim_username = @claim_username, claim_email = @claim_email, claim_trust_level = @claim_trust_level,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: OIDCProviderUpsertDefault :exec
-- OIDCProviderUpsertDefault writes the provider configured by OIDC_ISSUER (slug `oidc`): the
-- environment wins over edits made through the API at every start.
INSERT INTO oidc_providers (slug, name, kind, issuer, client_id, client_secret_enc, scopes)
VALUES ('oidc', @name, 'oidc', @issuer, @client_id, sqlc.narg('client_secret_enc'), @scopes)
ON CONFLICT (slug) DO UPDATE SET kind = 'oidc', issuer = excluded.issuer, client_id = excluded.client_id,
    client_secret_enc = excluded.client_secret_enc, updated_at = now();

-- name: OIDCProviderDelete :execrows
DELETE FROM oidc_providers WHERE id = @id;
