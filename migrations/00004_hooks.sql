-- +goose Up
-- hook_outbox holds notifications (NOTIFY_URL, shareAuth/finish) until a receiver accepts them.
-- The request (headers and body, which carry the caller's token and messages) is sealed with the
-- encryption key. Rows are claimed with FOR UPDATE SKIP LOCKED and leased by pushing next_at
-- forward, so one instance delivers each row at a time and a crash mid-delivery retries later.
CREATE TABLE hook_outbox (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('notify', 'share_finish')),
    url         text NOT NULL,
    request_enc bytea NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now(),
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hook_outbox_due_idx ON hook_outbox (next_at) WHERE status = 'pending';

-- share_links let callers without a Poolgate account use the gateway through a link, checked by
-- a third-party credential host (seed 004). Each link rides a hidden API key of its owner, who
-- pays for its calls.
CREATE TABLE share_links (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id    bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key_enc       bytea NOT NULL,
    models        text[] NOT NULL DEFAULT '{}',
    auth_host     text NOT NULL DEFAULT '',
    quota_limit   bigint CHECK (quota_limit >= 0),
    request_limit bigint CHECK (request_limit >= 0),
    used_quota    bigint NOT NULL DEFAULT 0,
    request_count bigint NOT NULL DEFAULT 0,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX share_links_user_id_idx ON share_links (user_id);

-- token_logins maps a token accepted by the OAUTH_URL login check to the Poolgate user it signs in.
CREATE TABLE token_logins (
    token_hash    bytea PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_logins_user_id_idx ON token_logins (user_id);

-- +goose Down
DROP TABLE token_logins;
DROP TABLE share_links;
DROP TABLE hook_outbox;
