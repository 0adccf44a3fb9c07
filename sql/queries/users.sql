-- name: UserCreate :one
INSERT INTO users (username, password_hash, role, balance)
VALUES (@username, @password_hash, @role, @balance)
RETURNING *;

-- name: UserGet :one
SELECT * FROM users WHERE id = @id;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE lower(username) = lower(@username);

-- name: UserAdminExists :one
SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin');

-- name: UserList :many
SELECT * FROM users
WHERE deleted_at IS NULL AND (sqlc.narg('q')::text IS NULL OR strpos(lower(username), lower(sqlc.narg('q'))) > 0)
  AND (sqlc.narg('role')::text IS NULL OR role = sqlc.narg('role'))
  AND (sqlc.narg('status')::text IS NULL OR status = sqlc.narg('status'))
ORDER BY id
LIMIT @lim OFFSET @off;

-- name: UserCount :one
SELECT count(*) FROM users
WHERE deleted_at IS NULL AND (sqlc.narg('q')::text IS NULL OR strpos(lower(username), lower(sqlc.narg('q'))) > 0)
  AND (sqlc.narg('role')::text IS NULL OR role = sqlc.narg('role'))
  AND (sqlc.narg('status')::text IS NULL OR status = sqlc.narg('status'));

-- name: UserUpdate :one
UPDATE users SET
    role       = coalesce(sqlc.narg('role'), role),
    status     = coalesce(sqlc.narg('status'), status),
    balance    = coalesce(sqlc.narg('balance'), balance) + coalesce(sqlc.narg('balance_delta')::bigint, 0),
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: SetupLock :exec
-- SetupLock serialises first-run setup within a transaction.
SELECT pg_advisory_xact_lock(7001);

-- name: UserDelete :execrows
DELETE FROM users WHERE id = @id;

-- name: UserSetTier :one
-- UserSetTier changes a user's tier (grant) and plan expiry; set_plan_expires_at distinguishes
-- clearing the expiry (null) from leaving it.
UPDATE users SET
    tier            = coalesce(sqlc.narg('tier'), tier),
    plan_expires_at = CASE WHEN @set_plan_expires_at::boolean THEN sqlc.narg('plan_expires_at')::timestamptz ELSE plan_expires_at END,
    updated_at      = now()
WHERE id = @id
RETURNING *;

-- name: UserSetGroup :one
-- UserSetGroup moves a user to a group (null: no group).
UPDATE users SET group_id = sqlc.narg('group_id')::bigint, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: UserSetPreferredAccount :exec
-- UserSetPreferredAccount records the account a user asked for at /logintoken (null: none).
UPDATE users SET preferred_account_id = sqlc.narg('account_id')::bigint WHERE id = @id;

-- name: UserLock :exec
-- UserLock serialises per-user changes (e.g. the API key limit) within a transaction.
SELECT id FROM users WHERE id = @id FOR UPDATE;

-- name: UserSoftDelete :one
-- UserSoftDelete disables a user for good and hides them from lists; their keys stop (the key
-- cache drops them on the user's invalidation) and their usage history stays.
UPDATE users SET status = 'disabled', deleted_at = coalesce(deleted_at, now()), updated_at = now()
WHERE id = @id
RETURNING *;
