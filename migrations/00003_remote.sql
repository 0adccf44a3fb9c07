-- +goose Up
-- Remote account sources (seed 003): where accounts are synced from, their sealed credentials,
-- and when they are next due for a scheduled sync.
CREATE TABLE remote_sources (
    id               text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{12}$'),
    name             text NOT NULL DEFAULT '',
    enabled          boolean NOT NULL DEFAULT true,
    url              text NOT NULL,
    method           text NOT NULL DEFAULT 'GET' CHECK (method IN ('GET', 'POST')),
    auth_header      text NOT NULL DEFAULT '',
    auth_token_enc   bytea,
    bearer_token_enc bytea,
    provider         text NOT NULL DEFAULT '' CHECK (provider IN ('', 'gpt', 'grok')),
    sync_strategy    text NOT NULL DEFAULT 'merge' CHECK (sync_strategy IN ('merge', 'replace')),
    interval_seconds integer CHECK (interval_seconds > 0),
    channel_id       bigint REFERENCES channels (id) ON DELETE SET NULL,
    last_sync_at     timestamptz,
    last_job_id      text,
    next_sync_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remote_sources_due_idx ON remote_sources (next_sync_at) WHERE enabled AND interval_seconds IS NOT NULL;

-- Every sync and injection, kept as history. source_id is the source's id for syncs and the
-- caller's free-form label for injections, so it is not a foreign key and survives the source.
CREATE TABLE import_jobs (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    seq         bigint GENERATED ALWAYS AS IDENTITY, -- orders jobs started at the same instant
    source_id   text NOT NULL,
    source_name text NOT NULL DEFAULT '',
    trigger     text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'inject')),
    strategy    text NOT NULL CHECK (strategy IN ('merge', 'replace')),
    status      text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    total       integer NOT NULL DEFAULT 0,
    added       integer NOT NULL DEFAULT 0,
    skipped     integer NOT NULL DEFAULT 0,
    removed     integer NOT NULL DEFAULT 0,
    failed      integer NOT NULL DEFAULT 0,
    errors      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_jobs_source_idx ON import_jobs (source_id, created_at DESC, seq DESC);

-- Accounts imported from a source or injected: the source that owns them (replace is scoped to
-- it), their provider and type, free-form metadata, and the SHA-256 of the credential, so a merge
-- finds an account by its token without decrypting every credential. All nullable: accounts
-- created through the admin API keep working unchanged.
ALTER TABLE accounts
    ADD COLUMN remote_source_id text,
    ADD COLUMN provider         text,
    ADD COLUMN credential_hash  bytea,
    ADD COLUMN type             text,
    ADD COLUMN metadata         jsonb;
CREATE UNIQUE INDEX accounts_credential_hash_key ON accounts (credential_hash) WHERE credential_hash IS NOT NULL;
CREATE INDEX accounts_remote_source_idx ON accounts (remote_source_id) WHERE remote_source_id IS NOT NULL;

-- +goose Down
DROP INDEX accounts_remote_source_idx;
DROP INDEX accounts_credential_hash_key;
ALTER TABLE accounts
    DROP COLUMN metadata,
    DROP COLUMN type,
    DROP COLUMN credential_hash,
    DROP COLUMN provider,
    DROP COLUMN remote_source_id;
DROP TABLE import_jobs;
DROP TABLE remote_sources;
