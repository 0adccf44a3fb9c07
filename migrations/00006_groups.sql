-- +goose Up
-- Groups (issue 4): a user's group picks the shared pool they ride and multiplies what they
-- pay; a channel restricted to some groups (channel_groups rows) serves only their users, a
-- channel without rows serves every group. Accounts may be bound to one API key (key-bound
-- dedicated accounts); users remember the account they prefer (/logintoken?account=).

CREATE TABLE groups (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    -- Price multiplier in thousandths (1000 = ×1), so charges stay integer.
    multiplier_permille integer NOT NULL DEFAULT 1000 CHECK (multiplier_permille BETWEEN 0 AND 1000000),
    description         text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channel_groups (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    group_id   bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, group_id)
);
CREATE INDEX channel_groups_group_id_idx ON channel_groups (group_id);

ALTER TABLE users
    ADD COLUMN group_id             bigint REFERENCES groups (id) ON DELETE SET NULL,
    ADD COLUMN preferred_account_id bigint REFERENCES accounts (id) ON DELETE SET NULL;
CREATE INDEX users_group_id_idx ON users (group_id) WHERE group_id IS NOT NULL;

ALTER TABLE accounts
    ADD COLUMN api_key_id bigint REFERENCES api_keys (id) ON DELETE SET NULL;
CREATE INDEX accounts_api_key_id_idx ON accounts (api_key_id) WHERE api_key_id IS NOT NULL;

-- +goose Down
DROP INDEX accounts_api_key_id_idx;
ALTER TABLE accounts DROP COLUMN api_key_id;
DROP INDEX users_group_id_idx;
ALTER TABLE users DROP COLUMN preferred_account_id, DROP COLUMN group_id;
DROP TABLE channel_groups;
DROP TABLE groups;
