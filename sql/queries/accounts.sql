-- name: AccountCreate :one
INSERT INTO accounts (channel_id, name, credential_enc, credential_tail, weight, status,
                      nickname, tier, owner_user_id, max_concurrency, limits, proxy_url)
VALUES (@channel_id, @name, @credential_enc, @credential_tail, @weight, @status,
        coalesce(sqlc.narg('nickname')::text, ''), coalesce(sqlc.narg('tier')::text, 'free'),
        sqlc.narg('owner_user_id')::bigint, coalesce(sqlc.narg('max_concurrency')::integer, 0),
        coalesce(sqlc.narg('limits')::jsonb, '{}'::jsonb), coalesce(sqlc.narg('proxy_url')::text, ''))
RETURNING *;

-- name: AccountGet :one
SELECT * FROM accounts WHERE id = @id AND channel_id = @channel_id;

-- name: AccountListByChannel :many
SELECT * FROM accounts WHERE channel_id = @channel_id ORDER BY id;

-- name: AccountUpdate :one
-- AccountUpdate changes the fields given. A status other than active set by an administrator
-- records the reason "admin" (so probes leave it alone); owner_user_id is
-- changed only when set_owner is true (null then makes the account shared).
UPDATE accounts SET
    name            = coalesce(sqlc.narg('name'), name),
    credential_enc  = coalesce(sqlc.narg('credential_enc'), credential_enc),
    credential_tail = coalesce(sqlc.narg('credential_tail'), credential_tail),
    weight          = coalesce(sqlc.narg('weight'), weight),
    status          = coalesce(sqlc.narg('status'), status),
    status_reason   = CASE WHEN sqlc.narg('status')::text IS NULL THEN status_reason
                           WHEN sqlc.narg('status')::text = 'active' THEN '' ELSE 'admin' END,
    nickname        = coalesce(sqlc.narg('nickname'), nickname),
    tier            = coalesce(sqlc.narg('tier'), tier),
    owner_user_id   = CASE WHEN @set_owner::boolean THEN sqlc.narg('owner_user_id')::bigint ELSE owner_user_id END,
    max_concurrency = coalesce(sqlc.narg('max_concurrency'), max_concurrency),
    limits          = coalesce(sqlc.narg('limits')::jsonb, limits),
    proxy_url       = CASE WHEN sqlc.narg('proxy_url')::text IS NULL
                            OR sqlc.narg('proxy_url')::text = regexp_replace(proxy_url, '^([^:/]+://)[^@/]*@', '\1')
                       THEN proxy_url ELSE sqlc.narg('proxy_url')::text END,
    updated_at      = now()
WHERE id = @id AND channel_id = @channel_id
RETURNING *;

-- name: AccountDelete :execrows
DELETE FROM accounts WHERE id = @id AND channel_id = @channel_id;

-- name: AccountListRoutable :many
-- AccountListRoutable loads every usable account of every active channel for the routing
-- snapshot ('cooling' is active with a cooldown that ends by time); proxy_url is the account's
-- outbound proxy, else its channel's.
SELECT a.id, a.channel_id, a.credential_enc, a.weight, a.tier, a.owner_user_id, a.max_concurrency,
       a.limits, a.cooling_until, a.api_key_id,
       (CASE WHEN a.proxy_url <> '' THEN a.proxy_url ELSE c.proxy_url END)::text AS proxy_url
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE a.status IN ('active', 'cooling') AND c.status = 'active'
ORDER BY a.id;

-- name: AccountSetStatus :execrows
-- AccountSetStatus records a health decision of the pool (banned, needs_reauth, disabled after
-- failures) or a passing probe (active). An administrator's disable is never overridden by a
-- probe: only_reason, when set, restricts the change to accounts in that state for that reason.
UPDATE accounts SET status = @status, status_reason = @reason, updated_at = now(),
    cooling_until = CASE WHEN @status = 'active' THEN NULL ELSE cooling_until END
WHERE id = @id
  AND (sqlc.narg('only_status')::text IS NULL OR status = sqlc.narg('only_status'))
  AND NOT (status = 'disabled' AND status_reason = 'admin');

-- name: AccountCool :exec
-- AccountCool records an account-wide cooldown for administrators to see; the pool's own state
-- (Redis or in process) is what routing reads.
UPDATE accounts SET cooling_until = greatest(cooling_until, @until::timestamptz) WHERE id = @id;

-- name: AccountReset :one
-- AccountReset puts an account back in rotation by hand: active, no cooldown, no reason.
UPDATE accounts SET status = 'active', status_reason = '', cooling_until = NULL, updated_at = now()
WHERE id = @id AND channel_id = @channel_id
RETURNING *;

-- name: AccountListProbe :many
-- AccountListProbe lists the accounts a probe may bring back: needing re-authentication, or
-- disabled by the pool (not by an administrator), not probed since before.
SELECT a.id, a.channel_id, a.credential_enc, a.status, c.type, c.base_url,
       (CASE WHEN a.proxy_url <> '' THEN a.proxy_url ELSE c.proxy_url END)::text AS proxy_url
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE c.status = 'active'
  AND (a.status = 'needs_reauth' OR (a.status = 'disabled' AND a.status_reason NOT IN ('admin', '')))
  AND (a.probed_at IS NULL OR a.probed_at < @before::timestamptz)
ORDER BY a.probed_at NULLS FIRST, a.id
LIMIT @lim;

-- name: AccountProbed :exec
UPDATE accounts SET probed_at = @at::timestamptz WHERE id = @id;

-- name: AccountListPublic :many
-- AccountListPublic pages the shared accounts of active channels for the share-server /carpage.
SELECT a.id, a.name, a.nickname, a.tier, a.status
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE c.status = 'active' AND a.owner_user_id IS NULL
ORDER BY a.id
LIMIT @lim OFFSET @off;

-- name: AccountCountPublic :one
SELECT count(*) FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE c.status = 'active' AND a.owner_user_id IS NULL;

-- name: AccountFindPublic :one
-- AccountFindPublic resolves a share-server carid: the account id, or its name or nickname.
SELECT a.id, a.name, a.nickname, a.tier, a.status, a.limits, c.status AS channel_status
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE a.owner_user_id IS NULL
  AND (a.id::text = @ref::text OR a.name = @ref::text OR (a.nickname <> '' AND a.nickname = @ref::text))
ORDER BY (a.id::text = @ref::text) DESC, a.id
LIMIT 1;

-- name: PoolJobLock :one
-- PoolJobLock takes the session lock that lets one instance at a time run the pool's jobs.
SELECT pg_try_advisory_lock(7102);

-- name: PoolJobUnlock :exec
SELECT pg_advisory_unlock(7102);

-- name: AccountBindKey :one
-- AccountBindKey binds an account to one API key (null unbinds it); a bound account is also
-- dedicated to the key's owner, so it never falls back into the shared pool when the key goes.
UPDATE accounts SET
    api_key_id    = sqlc.narg('api_key_id')::bigint,
    owner_user_id = CASE WHEN sqlc.narg('api_key_id')::bigint IS NULL THEN owner_user_id
                         ELSE (SELECT k.user_id FROM api_keys k WHERE k.id = sqlc.narg('api_key_id')::bigint) END,
    updated_at    = now()
WHERE accounts.id = @id AND accounts.channel_id = @channel_id
RETURNING *;

-- name: AccountFindForPreference :one
-- AccountFindForPreference resolves a preferred account by id, name or nickname.
SELECT id FROM accounts
WHERE id::text = @ref::text OR name = @ref::text OR (nickname <> '' AND nickname = @ref::text)
ORDER BY (id::text = @ref::text) DESC, id
LIMIT 1;

-- name: AccountBindKeyByOwner :one
-- AccountBindKeyByOwner lets an account's owner bind it to one of their own keys (null unbinds).
UPDATE accounts SET api_key_id = sqlc.narg('api_key_id')::bigint, updated_at = now()
WHERE accounts.id = @id AND accounts.owner_user_id = @owner_user_id
  AND (sqlc.narg('api_key_id')::bigint IS NULL OR EXISTS (
      SELECT 1 FROM api_keys k WHERE k.id = sqlc.narg('api_key_id')::bigint AND k.user_id = @owner_user_id))
RETURNING accounts.id, accounts.api_key_id;

-- name: AccountOAuthCredential :one
-- AccountOAuthCredential reads an account's sealed credential and the proxy its requests use
-- (its own, else its channel's), for an OAuth refresh.
SELECT a.credential_enc, (CASE WHEN a.proxy_url <> '' THEN a.proxy_url ELSE c.proxy_url END)::text AS proxy_url
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE a.id = @id;

-- name: AccountSetCredential :exec
-- AccountSetCredential stores a refreshed credential.
UPDATE accounts SET credential_enc = @credential_enc, credential_tail = @credential_tail, updated_at = now()
WHERE id = @id;
