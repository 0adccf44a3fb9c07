-- +goose Up
-- Accounts from users (issue 14): a user contributes an upstream account, dedicated to them
-- (owner_user_id = them) or shared (owner_user_id null, it joins the pool); contributor_user_id
-- remembers who contributed it either way, so they can see and remove it. Deleting the user
-- removes what they contributed (a dedicated account must never fall into the shared pool).
-- account_priority is the user's choice between their dedicated and the shared accounts first.
-- proxy_url (account, else its channel's) is the outbound proxy for its calls and probes.
ALTER TABLE accounts
    ADD COLUMN contributor_user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN proxy_url           text NOT NULL DEFAULT '';
CREATE INDEX accounts_contributor_user_id_idx ON accounts (contributor_user_id) WHERE contributor_user_id IS NOT NULL;

ALTER TABLE channels
    ADD COLUMN proxy_url text NOT NULL DEFAULT '';

ALTER TABLE users
    ADD COLUMN account_priority text NOT NULL DEFAULT 'dedicated_first'
        CHECK (account_priority IN ('dedicated_first', 'shared_first'));

-- An owner sees their account's use by others.
CREATE INDEX usage_logs_account_id_idx ON usage_logs (account_id, user_id) WHERE account_id IS NOT NULL;

-- +goose Down
DROP INDEX usage_logs_account_id_idx;
ALTER TABLE users DROP COLUMN account_priority;
ALTER TABLE channels DROP COLUMN proxy_url;
DROP INDEX accounts_contributor_user_id_idx;
ALTER TABLE accounts
    DROP COLUMN proxy_url,
    DROP COLUMN contributor_user_id;
