-- +goose Up
-- The login hook's own token is kept sealed (ENCRYPTION_KEY) beside its hash, so the audit and
-- notify hooks can be given back the token they issued instead of a Poolgate secret
-- (HOOK_USER_TOKEN=login). Rows from before stay without it until their next sign-in.
ALTER TABLE token_logins ADD COLUMN token_enc bytea;

-- +goose Down
ALTER TABLE token_logins DROP COLUMN token_enc;
