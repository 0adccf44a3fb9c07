-- name: AccountCreate :one
INSERT INTO accounts (channel_id, name, credential_enc, credential_tail, weight, status)
VALUES (@channel_id, @name, @credential_enc, @credential_tail, @weight, @status)
RETURNING *;

-- name: AccountListByChannel :many
SELECT * FROM accounts WHERE channel_id = @channel_id ORDER BY id;

-- name: AccountUpdate :one
UPDATE accounts SET
    name            = coalesce(sqlc.narg('name'), name),
    credential_enc  = coalesce(sqlc.narg('credential_enc'), credential_enc),
    credential_tail = coalesce(sqlc.narg('credential_tail'), credential_tail),
    weight          = coalesce(sqlc.narg('weight'), weight),
    status          = coalesce(sqlc.narg('status'), status),
    updated_at      = now()
WHERE id = @id AND channel_id = @channel_id
RETURNING *;

-- name: AccountDelete :execrows
DELETE FROM accounts WHERE id = @id AND channel_id = @channel_id;

-- name: AccountListRoutable :many
-- AccountListRoutable loads every active account of every active channel for the routing snapshot.
SELECT a.id, a.channel_id, a.credential_enc, a.weight
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE a.status = 'active' AND c.status = 'active'
ORDER BY a.id;
