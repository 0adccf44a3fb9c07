-- name: UserChannelCreate :one
INSERT INTO user_channels (user_id, channel_id, priority)
VALUES (@user_id, @channel_id, @priority)
RETURNING *;

-- name: UserChannelList :many
SELECT * FROM user_channels
WHERE (sqlc.narg('user_id')::bigint IS NULL OR user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('channel_id')::bigint IS NULL OR channel_id = sqlc.narg('channel_id'))
ORDER BY id;

-- name: UserChannelDelete :execrows
DELETE FROM user_channels WHERE id = @id;

-- name: UserChannelUpdate :one
UPDATE user_channels SET priority = @priority WHERE id = @id
RETURNING *;
