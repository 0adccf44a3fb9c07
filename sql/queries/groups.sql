-- name: GroupList :many
SELECT g.*, coalesce((SELECT array_agg(cg.channel_id ORDER BY cg.channel_id) FROM channel_groups cg
                      WHERE cg.group_id = g.id), '{}')::bigint[] AS channel_ids
FROM groups g ORDER BY g.id;

-- name: GroupGet :one
SELECT g.*, coalesce((SELECT array_agg(cg.channel_id ORDER BY cg.channel_id) FROM channel_groups cg
                      WHERE cg.group_id = g.id), '{}')::bigint[] AS channel_ids
FROM groups g WHERE g.id = @id;

-- name: GroupCreate :one
INSERT INTO groups (name, multiplier_permille, description)
VALUES (@name, coalesce(sqlc.narg('multiplier_permille')::integer, 1000), coalesce(sqlc.narg('description')::text, ''))
RETURNING id;

-- name: GroupUpdate :execrows
UPDATE groups SET
    name                = coalesce(sqlc.narg('name'), name),
    multiplier_permille = coalesce(sqlc.narg('multiplier_permille'), multiplier_permille),
    description         = coalesce(sqlc.narg('description'), description),
    updated_at          = now()
WHERE id = @id;

-- name: GroupDelete :execrows
DELETE FROM groups WHERE id = @id;

-- name: GroupChannelsClear :exec
DELETE FROM channel_groups WHERE group_id = @group_id;

-- name: GroupChannelsAdd :exec
INSERT INTO channel_groups (channel_id, group_id)
SELECT unnest(@channel_ids::bigint[]), @group_id
ON CONFLICT DO NOTHING;

-- name: GroupChannelsCount :one
-- GroupChannelsCount counts how many of the given channels exist (to refuse unknown ids).
SELECT count(*) FROM channels WHERE id = ANY(@channel_ids::bigint[]);

-- name: ChannelGroupList :many
-- ChannelGroupList loads every channel restriction for the routing snapshot.
SELECT channel_id, group_id FROM channel_groups ORDER BY channel_id, group_id;
