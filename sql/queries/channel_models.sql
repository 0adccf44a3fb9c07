-- name: ChannelModelList :many
SELECT * FROM channel_models WHERE channel_id = @channel_id ORDER BY id;

-- name: ChannelModelCreate :one
INSERT INTO channel_models (channel_id, name, upstream_name)
VALUES (@channel_id, @name, @upstream_name)
RETURNING *;

-- name: ChannelModelUpdate :one
UPDATE channel_models SET
    name          = coalesce(sqlc.narg('name'), name),
    upstream_name = coalesce(sqlc.narg('upstream_name'), upstream_name),
    updated_at    = now()
WHERE id = @id
RETURNING *;

-- name: ChannelModelDelete :execrows
DELETE FROM channel_models WHERE id = @id;

-- name: ChannelModelMappings :many
-- ChannelModelMappings lists the mapped channel models (upstream name differs) for routing.
SELECT channel_id, name, upstream_name FROM channel_models WHERE upstream_name <> name ORDER BY channel_id, id;
