-- name: ChannelCreate :one
INSERT INTO channels (name, type, base_url, models, priority, weight, status, proxy_url)
VALUES (@name, @type, @base_url, @models, @priority, @weight, @status, coalesce(sqlc.narg('proxy_url')::text, ''))
RETURNING *;

-- name: ChannelGet :one
SELECT c.*, (SELECT count(*) FROM accounts a WHERE a.channel_id = c.id) AS account_count
FROM channels c WHERE c.id = @id;

-- name: ChannelList :many
SELECT c.*, (SELECT count(*) FROM accounts a WHERE a.channel_id = c.id) AS account_count
FROM channels c ORDER BY c.id;

-- name: ChannelUpdate :one
-- ChannelUpdate changes the fields given (a proxy_url equal to the stored one without its
-- credentials, as it is shown, keeps the stored one). A channel without a base URL (one Poolgate created for
-- imported accounts) is enabled by the update that gives it one, unless that update sets the
-- status itself.
UPDATE channels SET
    name       = coalesce(sqlc.narg('name'), name),
    base_url   = coalesce(sqlc.narg('base_url'), base_url),
    models     = coalesce(sqlc.narg('models')::text[], models),
    priority   = coalesce(sqlc.narg('priority'), priority),
    weight     = coalesce(sqlc.narg('weight'), weight),
    proxy_url  = CASE WHEN sqlc.narg('proxy_url')::text IS NULL
                            OR sqlc.narg('proxy_url')::text = regexp_replace(proxy_url, '^([^:/]+://)[^@/]*@', '\1')
                       THEN proxy_url ELSE sqlc.narg('proxy_url')::text END,
    status     = CASE WHEN sqlc.narg('status')::text IS NOT NULL THEN sqlc.narg('status')::text
                      WHEN base_url = '' AND coalesce(sqlc.narg('base_url'), '') <> '' THEN 'active'
                      ELSE status END,
    updated_at = now()
WHERE id = @id
RETURNING id;

-- name: ChannelDelete :execrows
DELETE FROM channels WHERE id = @id;

-- name: ChannelSetSynced :exec
-- ChannelSetSynced stores the model list an upstream reported (or the error of the attempt).
UPDATE channels SET
    upstream_models  = CASE WHEN @ok::boolean THEN sqlc.narg('upstream_models')::text[] ELSE upstream_models END,
    models_synced_at = CASE WHEN @ok::boolean THEN @at::timestamptz ELSE models_synced_at END,
    sync_error       = @sync_error
WHERE id = @id;

-- name: ChannelSetModels :exec
UPDATE channels SET models = @models::text[], updated_at = now() WHERE id = @id;

-- name: ChannelSetMinTier :exec
UPDATE channels SET min_tier = @min_tier, updated_at = now() WHERE id = @id;

-- name: ChannelProbeTarget :one
-- ChannelProbeTarget picks the account a channel check uses: active first, least failing; its
-- proxy is the account's, else the channel's.
SELECT c.type, c.base_url, a.credential_enc, (CASE WHEN a.proxy_url <> '' THEN a.proxy_url ELSE c.proxy_url END)::text AS proxy_url
FROM channels c JOIN accounts a ON a.channel_id = c.id
WHERE c.id = @id AND a.status IN ('active', 'cooling')
ORDER BY a.failure_count, a.id
LIMIT 1;
