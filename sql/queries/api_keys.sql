-- name: APIKeyCreate :one
INSERT INTO api_keys (user_id, name, key_hash, key_hint)
VALUES (@user_id, @name, @key_hash, @key_hint)
RETURNING *;

-- name: APIKeyCountByUser :one
SELECT count(*) FROM api_keys WHERE user_id = @user_id;

-- name: APIKeyListByUser :many
SELECT * FROM api_keys WHERE user_id = @user_id ORDER BY id DESC;

-- name: APIKeyUpdate :one
UPDATE api_keys SET
    name       = coalesce(sqlc.narg('name'), name),
    status     = coalesce(sqlc.narg('status'), status),
    updated_at = now()
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
SELECT k.id AS key_id, k.status AS key_status, u.id AS user_id, u.username, u.role, u.status AS user_status, u.balance,
       u.tier AS user_tier, u.plan_expires_at, u.group_id, u.preferred_account_id,
       coalesce(g.multiplier_permille, 1000)::integer AS multiplier_permille
FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN groups g ON g.id = u.group_id
WHERE k.key_hash = @key_hash;
