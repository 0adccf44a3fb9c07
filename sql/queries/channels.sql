-- name: ChannelCreate :one
INSERT INTO channels (name, type, base_url, models, priority, weight, status)
VALUES (@name, @type, @base_url, @models, @priority, @weight, @status)
RETURNING *;

-- name: ChannelGet :one
SELECT c.*, (SELECT count(*) FROM accounts a WHERE a.channel_id = c.id) AS account_count
FROM channels c WHERE c.id = @id;

-- name: ChannelList :many
SELECT c.*, (SELECT count(*) FROM accounts a WHERE a.channel_id = c.id) AS account_count
FROM channels c ORDER BY c.id;

-- name: ChannelUpdate :one
UPDATE channels SET
    name       = coalesce(sqlc.narg('name'), name),
    base_url   = coalesce(sqlc.narg('base_url'), base_url),
    models     = coalesce(sqlc.narg('models')::text[], models),
    priority   = coalesce(sqlc.narg('priority'), priority),
    weight     = coalesce(sqlc.narg('weight'), weight),
    status     = coalesce(sqlc.narg('status'), status),
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
-- ChannelProbeTarget picks the account a channel check uses: active first, least failing.
SELECT c.type, c.base_url, a.credential_enc
FROM channels c JOIN accounts a ON a.channel_id = c.id
WHERE c.id = @id AND a.status IN ('active', 'cooling')
ORDER BY a.failure_count, a.id
LIMIT 1;
