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
