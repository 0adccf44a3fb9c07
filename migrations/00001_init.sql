-- +goose Up
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    balance       bigint NOT NULL DEFAULT 0,
    used_quota    bigint NOT NULL DEFAULT 0,
    request_count bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE api_keys (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,
    key_hint      text NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    used_quota    bigint NOT NULL DEFAULT 0,
    request_count bigint NOT NULL DEFAULT 0,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

CREATE TABLE channels (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    type       text NOT NULL CHECK (type IN ('openai', 'anthropic', 'gemini')),
    base_url   text NOT NULL,
    models     text[] NOT NULL DEFAULT '{}',
    priority   integer NOT NULL DEFAULT 0,
    weight     integer NOT NULL DEFAULT 1 CHECK (weight >= 0),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id              bigserial PRIMARY KEY,
    channel_id      bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    name            text NOT NULL DEFAULT '',
    credential_enc  bytea NOT NULL,
    credential_tail text NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    weight          integer NOT NULL DEFAULT 1 CHECK (weight >= 0),
    success_count   bigint NOT NULL DEFAULT 0,
    failure_count   bigint NOT NULL DEFAULT 0,
    last_used_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_channel_id_idx ON accounts (channel_id);

CREATE TABLE models (
    id                 bigserial PRIMARY KEY,
    name               text NOT NULL UNIQUE,
    input_price        bigint NOT NULL CHECK (input_price >= 0),
    output_price       bigint NOT NULL CHECK (output_price >= 0),
    cached_input_price bigint CHECK (cached_input_price >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE usage_logs (
    id                bigserial PRIMARY KEY,
    request_id        text NOT NULL UNIQUE,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key_id        bigint,
    channel_id        bigint,
    account_id        bigint,
    model             text NOT NULL,
    endpoint          text NOT NULL,
    stream            boolean NOT NULL,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cached_tokens     bigint NOT NULL DEFAULT 0,
    quota             bigint NOT NULL DEFAULT 0,
    status_code       integer NOT NULL,
    duration_ms       integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_logs_user_id_idx ON usage_logs (user_id, id DESC);
CREATE INDEX usage_logs_model_idx ON usage_logs (model, id DESC);

-- +goose Down
DROP TABLE usage_logs;
DROP TABLE models;
DROP TABLE accounts;
DROP TABLE channels;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE settings;
