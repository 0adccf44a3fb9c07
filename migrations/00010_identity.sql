-- +goose Up
-- Identity (issue 11): e-mail addresses and one-time e-mail codes, trust levels and the muted
-- status, TOTP second factors, OpenID Connect / OAuth2 providers and the identities they vouch
-- for, and passkeys (WebAuthn credentials).

ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users
    ADD CONSTRAINT users_status_check CHECK (status IN ('active', 'muted', 'disabled')),
    ADD COLUMN email           text,
    ADD COLUMN trust_level     smallint NOT NULL DEFAULT 0 CHECK (trust_level BETWEEN 0 AND 4),
    -- password_set is false for users created by SSO or token sign-in: their hash is unusable.
    ADD COLUMN password_set    boolean NOT NULL DEFAULT true,
    -- The TOTP secret is sealed with the encryption key; totp_enabled turns it on after a first
    -- valid code, and totp_last_step refuses a code's reuse within its window.
    ADD COLUMN totp_secret_enc bytea,
    ADD COLUMN totp_enabled    boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_last_step  bigint NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;

-- email_codes are 6-digit codes sent by mail, stored as an HMAC: single use, short-lived, and
-- dead after a few wrong guesses.
CREATE TABLE email_codes (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    purpose    text NOT NULL CHECK (purpose IN ('register', 'reset', 'change')),
    code_hash  bytea NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_codes_lookup_idx ON email_codes (lower(email), purpose, id DESC);

-- oidc_providers are the SSO providers: OpenID Connect (issuer discovery, ID token checked) or
-- plain OAuth2 (authorization, token and userinfo URLs). The client secret is sealed.
CREATE TABLE oidc_providers (
    id                bigserial PRIMARY KEY,
    slug              text NOT NULL UNIQUE,
    name              text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('oidc', 'oauth2')),
    issuer            text NOT NULL DEFAULT '',
    authorization_url text NOT NULL DEFAULT '',
    token_url         text NOT NULL DEFAULT '',
    userinfo_url      text NOT NULL DEFAULT '',
    client_id         text NOT NULL,
    client_secret_enc bytea,
    scopes            text[] NOT NULL DEFAULT '{}',
    auto_register     boolean NOT NULL DEFAULT true,
    enabled           boolean NOT NULL DEFAULT true,
    claim_subject     text NOT NULL DEFAULT 'sub',
    claim_username    text NOT NULL DEFAULT 'preferred_username',
    claim_email       text NOT NULL DEFAULT 'email',
    claim_trust_level text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- user_identities link a provider's subject to one user; the unique key keeps one identity from
-- ever linking to two users.
CREATE TABLE user_identities (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id bigint NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    subject     text NOT NULL,
    email       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider_id, subject)
);
CREATE INDEX user_identities_user_id_idx ON user_identities (user_id);

-- passkeys are WebAuthn credentials; credential holds go-webauthn's record (public key, flags,
-- authenticator data) and sign_count the last counter seen.
CREATE TABLE passkeys (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id bytea NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    credential    jsonb NOT NULL,
    sign_count    bigint NOT NULL DEFAULT 0,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

-- +goose Down
DROP TABLE passkeys;
DROP TABLE user_identities;
DROP TABLE oidc_providers;
DROP TABLE email_codes;
DROP INDEX users_email_key;
UPDATE users SET status = 'disabled' WHERE status = 'muted';
ALTER TABLE users
    DROP COLUMN totp_last_step,
    DROP COLUMN totp_enabled,
    DROP COLUMN totp_secret_enc,
    DROP COLUMN password_set,
    DROP COLUMN trust_level,
    DROP COLUMN email,
    DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled'));
