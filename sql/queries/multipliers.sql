-- name: ChannelGroupMultiplierList :many
SELECT group_id, multiplier_permille FROM channel_group_multipliers
WHERE channel_id = @channel_id ORDER BY group_id;

-- name: ChannelGroupMultiplierClear :exec
DELETE FROM channel_group_multipliers WHERE channel_id = @channel_id;

-- name: ChannelGroupMultiplierSet :exec
INSERT INTO channel_group_multipliers (channel_id, group_id, multiplier_permille)
SELECT @channel_id, unnest(@group_ids::bigint[]), unnest(@permilles::integer[]);

-- name: ChannelModelGroupMultiplierList :many
SELECT group_id, multiplier_permille FROM channel_model_group_multipliers
WHERE channel_model_id = @channel_model_id ORDER BY group_id;

-- name: ChannelModelGroupMultiplierClear :exec
DELETE FROM channel_model_group_multipliers WHERE channel_model_id = @channel_model_id;

-- name: ChannelModelGroupMultiplierSet :exec
INSERT INTO channel_model_group_multipliers (channel_model_id, group_id, multiplier_permille)
SELECT @channel_model_id, unnest(@group_ids::bigint[]), unnest(@permilles::integer[]);

-- name: UserChannelMultiplierList :many
SELECT channel_id, multiplier_permille FROM user_channel_multipliers
WHERE user_id = @user_id ORDER BY channel_id;

-- name: UserChannelMultiplierClear :exec
DELETE FROM user_channel_multipliers WHERE user_id = @user_id;

-- name: UserChannelMultiplierSet :exec
INSERT INTO user_channel_multipliers (user_id, channel_id, multiplier_permille)
SELECT @user_id, unnest(@channel_ids::bigint[]), unnest(@permilles::integer[]);

-- name: MultiplierSnapshot :many
-- MultiplierSnapshot loads every multiplier for the routing snapshot: kind 'channel' (channel ×
-- group), 'channel_model' (channel model × group, with the model's name) and 'user' (user ×
-- channel, subject_id the user).
SELECT 'channel'::text AS kind, channel_id, ''::text AS model, group_id AS subject_id, multiplier_permille
FROM channel_group_multipliers
UNION ALL
SELECT 'channel_model'::text, cm.channel_id, cm.name, m.group_id, m.multiplier_permille
FROM channel_model_group_multipliers m JOIN channel_models cm ON cm.id = m.channel_model_id
UNION ALL
SELECT 'user'::text, channel_id, ''::text, user_id, multiplier_permille
FROM user_channel_multipliers;

-- name: ChannelModelExists :one
SELECT id FROM channel_models WHERE id = @id;
