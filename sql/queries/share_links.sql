-- name: ShareLinkCreate :one
INSERT INTO share_links (id, name, user_id, api_key_id, key_enc, models, auth_host, quota_limit, request_limit, status, expires_at)
VALUES (@id, @name, @user_id, @api_key_id, @key_enc, @models, @auth_host, sqlc.narg('quota_limit'), sqlc.narg('request_limit'),
    @status, sqlc.narg('expires_at'))
RETURNING *;

-- name: ShareLinkGet :one
SELECT * FROM share_links WHERE id = @id;

-- name: ShareLinkList :many
SELECT * FROM share_links ORDER BY created_at DESC, id;

-- name: ShareLinkUpdate :one
UPDATE share_links SET
    name          = coalesce(sqlc.narg('name'), name),
    models        = coalesce(sqlc.narg('models')::text[], models),
    auth_host     = coalesce(sqlc.narg('auth_host'), auth_host),
    quota_limit   = CASE WHEN @set_quota_limit::boolean THEN sqlc.narg('quota_limit') ELSE quota_limit END,
    request_limit = CASE WHEN @set_request_limit::boolean THEN sqlc.narg('request_limit') ELSE request_limit END,
    status        = coalesce(sqlc.narg('status'), status),
    expires_at    = CASE WHEN @set_expires_at::boolean THEN sqlc.narg('expires_at') ELSE expires_at END,
    updated_at    = now()
WHERE id = @id
RETURNING *;

-- name: ShareLinkDelete :one
DELETE FROM share_links WHERE id = @id RETURNING api_key_id;

-- name: ShareLinkUsageAdd :exec
UPDATE share_links SET used_quota = used_quota + @quota, request_count = request_count + 1 WHERE id = @id;
