-- +goose Up
-- The account pool: tiers, dedicated accounts, health states, limits, user-bound channels and
-- status monitors. Every column added to an existing table is nullable or defaulted, so accounts
-- written by other code paths (remote injection) stay valid.

ALTER TABLE users
    ADD COLUMN tier            text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'ultra')),
    ADD COLUMN plan_expires_at timestamptz;

ALTER TABLE channels
    ADD COLUMN min_tier         text NOT NULL DEFAULT 'free' CHECK (min_tier IN ('free', 'pro', 'ultra')),
    ADD COLUMN upstream_models  text[],
    ADD COLUMN models_synced_at timestamptz,
    ADD COLUMN sync_error       text NOT NULL DEFAULT '';

ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts
    ADD CONSTRAINT accounts_status_check
        CHECK (status IN ('active', 'cooling', 'disabled', 'banned', 'needs_reauth')),
    ADD COLUMN nickname        text NOT NULL DEFAULT '',
    ADD COLUMN tier            text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'ultra')),
    ADD COLUMN owner_user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN status_reason   text NOT NULL DEFAULT '',
    ADD COLUMN cooling_until   timestamptz,
    ADD COLUMN max_concurrency integer NOT NULL DEFAULT 0 CHECK (max_concurrency >= 0),
    ADD COLUMN limits          jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN probed_at       timestamptz;
CREATE INDEX accounts_owner_user_id_idx ON accounts (owner_user_id) WHERE owner_user_id IS NOT NULL;
CREATE INDEX accounts_probe_idx ON accounts (status) WHERE status IN ('disabled', 'needs_reauth');

-- A user channel dedicates a channel to a user: its accounts serve that user (and other users
-- bound to it) before the shared pool, and never serve anyone else.
CREATE TABLE user_channels (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    priority   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, channel_id)
);
CREATE INDEX user_channels_channel_id_idx ON user_channels (channel_id);

CREATE TABLE status_monitors (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    channel_id       bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    model            text NOT NULL DEFAULT '',
    interval_seconds integer NOT NULL DEFAULT 300 CHECK (interval_seconds >= 10),
    public           boolean NOT NULL DEFAULT true,
    enabled          boolean NOT NULL DEFAULT true,
    last_status      text NOT NULL DEFAULT 'unknown' CHECK (last_status IN ('unknown', 'up', 'down')),
    last_latency_ms  integer,
    last_message     text NOT NULL DEFAULT '',
    last_checked_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE status_checks (
    id         bigserial PRIMARY KEY,
    monitor_id bigint NOT NULL REFERENCES status_monitors (id) ON DELETE CASCADE,
    up         boolean NOT NULL,
    latency_ms integer NOT NULL,
    message    text NOT NULL DEFAULT '',
    checked_at timestamptz NOT NULL
);
CREATE INDEX status_checks_monitor_idx ON status_checks (monitor_id, checked_at DESC);

-- +goose Down
DROP TABLE status_checks;
DROP TABLE status_monitors;
DROP TABLE user_channels;
DROP INDEX accounts_probe_idx;
DROP INDEX accounts_owner_user_id_idx;
UPDATE accounts SET status = 'disabled' WHERE status NOT IN ('active', 'disabled');
ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts
    DROP COLUMN probed_at,
    DROP COLUMN limits,
    DROP COLUMN max_concurrency,
    DROP COLUMN cooling_until,
    DROP COLUMN status_reason,
    DROP COLUMN owner_user_id,
    DROP COLUMN tier,
    DROP COLUMN nickname,
    ADD CONSTRAINT accounts_status_check CHECK (status IN ('active', 'disabled'));
ALTER TABLE channels
    DROP COLUMN sync_error,
    DROP COLUMN models_synced_at,
    DROP COLUMN upstream_models,
    DROP COLUMN min_tier;
ALTER TABLE users
    DROP COLUMN plan_expires_at,
    DROP COLUMN tier;
