-- name: ContributedAccountCreate :one
-- ContributedAccountCreate adds an account a user contributes to the designated channel: owned
-- by them (dedicated) unless shared. The credential hash refuses the same credential twice.
INSERT INTO accounts (channel_id, name, credential_enc, credential_tail, credential_hash, weight, status,
                      nickname, owner_user_id, contributor_user_id, provider, type, proxy_url)
VALUES (@channel_id, @name, @credential_enc, @credential_tail, @credential_hash, 1, 'active',
        @nickname, sqlc.narg('owner_user_id')::bigint, @contributor_user_id, @provider, @type, @proxy_url)
RETURNING id;

-- name: ContributedAccountList :many
-- ContributedAccountList is the accounts a user contributed, with their use by other users.
SELECT a.id, a.channel_id, a.name, a.nickname, a.provider, a.type, a.credential_tail, a.status,
       a.status_reason, a.cooling_until, a.owner_user_id, a.proxy_url, a.created_at, a.updated_at,
       coalesce(u.calls, 0)::bigint AS others_calls, coalesce(u.quota, 0)::bigint AS others_quota,
       coalesce(u.tokens, 0)::bigint AS others_tokens
FROM accounts a
LEFT JOIN LATERAL (
    SELECT count(*) AS calls, sum(l.quota) AS quota, sum(l.prompt_tokens + l.completion_tokens) AS tokens
    FROM usage_logs l WHERE l.account_id = a.id AND l.user_id <> @contributor_user_id
) u ON true
WHERE a.contributor_user_id = @contributor_user_id
  AND (sqlc.narg('id')::bigint IS NULL OR a.id = sqlc.narg('id')::bigint)
ORDER BY a.id;

-- name: ContributedAccountCount :one
SELECT count(*) FROM accounts WHERE contributor_user_id = @contributor_user_id;

-- name: ContributedAccountUpdate :one
-- ContributedAccountUpdate changes what the contributor may change: the nickname, shared or
-- dedicated (set_owner: owner_user_id becomes the given value), the credential.
UPDATE accounts SET
    nickname        = coalesce(sqlc.narg('nickname'), nickname),
    owner_user_id   = CASE WHEN @set_owner::boolean THEN sqlc.narg('owner_user_id')::bigint ELSE owner_user_id END,
    credential_enc  = coalesce(sqlc.narg('credential_enc'), credential_enc),
    credential_tail = coalesce(sqlc.narg('credential_tail'), credential_tail),
    credential_hash = coalesce(sqlc.narg('credential_hash'), credential_hash),
    proxy_url       = CASE WHEN sqlc.narg('proxy_url')::text IS NULL
                            OR sqlc.narg('proxy_url')::text = regexp_replace(proxy_url, '^([^:/]+://)[^@/]*@', '\1')
                       THEN proxy_url ELSE sqlc.narg('proxy_url')::text END,
    status          = CASE WHEN sqlc.narg('credential_enc')::bytea IS NOT NULL AND status = 'needs_reauth' THEN 'active' ELSE status END,
    status_reason   = CASE WHEN sqlc.narg('credential_enc')::bytea IS NOT NULL AND status = 'needs_reauth' THEN '' ELSE status_reason END,
    updated_at      = now()
WHERE id = @id AND contributor_user_id = @contributor_user_id
RETURNING id;

-- name: ContributedAccountDelete :execrows
DELETE FROM accounts WHERE id = @id AND contributor_user_id = @contributor_user_id;

-- name: ContributedAccountChannel :one
-- ContributedAccountChannel reads the channel a provider's contributed accounts join.
SELECT id, type, base_url, proxy_url, status FROM channels WHERE id = @id;

-- name: UserSetAccountPriority :one
UPDATE users SET account_priority = @account_priority, updated_at = now() WHERE id = @id
RETURNING account_priority;

-- name: UserAccountPriority :one
SELECT account_priority FROM users WHERE id = @id;
