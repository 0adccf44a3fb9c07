-- name: RemoteAccountInsert :many
-- RemoteAccountInsert adds imported accounts in one statement; an account whose credential is
-- already in the pool is left alone (the caller counts it as skipped). It returns the hashes of
-- the accounts added.
INSERT INTO accounts (channel_id, name, credential_enc, credential_tail, credential_hash, status,
                      remote_source_id, provider, type, metadata)
SELECT u.channel_id, u.name, u.credential_enc, u.credential_tail, u.credential_hash, u.status,
       sqlc.narg('remote_source_id')::text, u.provider, nullif(u.type, ''), nullif(u.metadata, '')::jsonb
FROM (SELECT unnest(@channel_ids::bigint[]) AS channel_id, unnest(@names::text[]) AS name,
             unnest(@credential_encs::bytea[]) AS credential_enc, unnest(@credential_tails::text[]) AS credential_tail,
             unnest(@credential_hashes::bytea[]) AS credential_hash, unnest(@statuses::text[]) AS status,
             unnest(@providers::text[]) AS provider, unnest(@types::text[]) AS type,
             unnest(@metadata::text[]) AS metadata) AS u
ON CONFLICT (credential_hash) WHERE credential_hash IS NOT NULL DO NOTHING
RETURNING credential_hash;

-- name: RemoteAccountMerge :execrows
-- RemoteAccountMerge applies the state a payload gives for accounts already in the pool; an
-- empty value keeps the account's own (status, type, metadata). Counters, cooldowns and limits
-- are never touched.
UPDATE accounts a SET
    status     = coalesce(nullif(u.status, ''), a.status),
    type       = coalesce(nullif(u.type, ''), a.type),
    metadata   = coalesce(nullif(u.metadata, '')::jsonb, a.metadata),
    updated_at = now()
FROM (SELECT unnest(@credential_hashes::bytea[]) AS credential_hash, unnest(@statuses::text[]) AS status,
             unnest(@types::text[]) AS type, unnest(@metadata::text[]) AS metadata) AS u
WHERE a.credential_hash = u.credential_hash;

-- name: RemoteAccountDeleteMissing :execrows
-- RemoteAccountDeleteMissing removes a source's accounts that are not in @keep (replace).
-- An anti-join over the unnested list (hashed), not `<> ALL`, which compares every pair.
DELETE FROM accounts a
WHERE a.remote_source_id = @remote_source_id::text
  AND NOT EXISTS (SELECT 1 FROM unnest(@keep::bytea[]) AS k(hash) WHERE k.hash = a.credential_hash);

-- name: RemoteAccountLock :exec
-- RemoteAccountLock serialises imports into one source until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('poolgate:remote:' || @source_id::text, 0));

-- name: RemoteChannelGet :one
SELECT id, type FROM channels WHERE id = @id;

-- name: RemoteChannelGetByName :one
SELECT id, type FROM channels WHERE name = @name;

-- name: RemoteChannelCreate :one
-- RemoteChannelCreate makes a provider's default channel for imported accounts: OpenAI-type,
-- without a base URL or models, disabled until an administrator gives it its upstream. It returns
-- no row when another import created it first.
INSERT INTO channels (name, type, base_url, models, status)
VALUES (@name, 'openai', '', '{}', 'disabled')
ON CONFLICT (name) DO NOTHING
RETURNING id, type;
