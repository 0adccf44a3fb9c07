-- name: APIKeyCreate :one
INSERT INTO api_keys (user_id, name, key_hash, key_hint, description, allowed_models, quota_limit, expires_at, allowed_ips)
VALUES (@user_id, @name, @key_hash, @key_hint, @description, sqlc.narg('allowed_models')::text[],
        sqlc.narg('quota_limit')::bigint, sqlc.narg('expires_at')::timestamptz, sqlc.narg('allowed_ips')::cidr[])
RETURNING *;

-- name: APIKeyCountByUser :one
SELECT count(*) FROM api_keys WHERE user_id = @user_id;

-- name: APIKeyListByUser :many
SELECT * FROM api_keys WHERE user_id = @user_id ORDER BY id DESC;

-- name: APIKeyUpdate :one
-- APIKeyUpdate changes the fields present; a restriction's set_* flag distinguishes clearing it
-- (null) from leaving it.
UPDATE api_keys SET
    name           = coalesce(sqlc.narg('name'), name),
    status         = coalesce(sqlc.narg('status'), status),
    description    = coalesce(sqlc.narg('description'), description),
    allowed_models = CASE WHEN @set_allowed_models::boolean THEN sqlc.narg('allowed_models')::text[] ELSE allowed_models END,
    quota_limit    = CASE WHEN @set_quota_limit::boolean THEN sqlc.narg('quota_limit')::bigint ELSE quota_limit END,
    expires_at     = CASE WHEN @set_expires_at::boolean THEN sqlc.narg('expires_at')::timestamptz ELSE expires_at END,
    allowed_ips    = CASE WHEN @set_allowed_ips::boolean THEN sqlc.narg('allowed_ips')::cidr[] ELSE allowed_ips END,
    updated_at     = now()
WHERE id = @id AND user_id = @user_id
RETURNING *;

-- name: APIKeyRotate :one
UPDATE api_keys SET key_hash = @key_hash, key_hint = @key_hint, updated_at = now()
WHERE id = @id AND user_id = @user_id
RETURNING *;

-- name: APIKeyDelete :execrows
DELETE FROM api_keys WHERE id = @id AND user_id = @user_id;

-- name: APIKeyAuth :one
-- ApiKeyAuth resolves a key hash to the key and its owner for the gateway and management auth.
SELECT k.id AS key_id, k.status AS key_status, k.allowed_models AS key_allowed_models, k.quota_limit AS key_quota_limit,
       k.used_quota AS key_used_quota, k.expires_at AS key_expires_at, k.allowed_ips AS key_allowed_ips,
       u.id AS user_id, u.username, u.role, u.status AS user_status, u.balance, u.used_quota AS user_used_quota,
       u.tier AS user_tier, u.plan_expires_at, u.group_id, u.preferred_account_id, u.trust_level, u.account_priority,
       coalesce(g.multiplier_permille, 1000)::integer AS multiplier_permille, u.plan_id
FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN groups g ON g.id = u.group_id
WHERE k.key_hash = @key_hash;
