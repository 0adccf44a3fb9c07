-- name: UserCreate :one
-- UserCreate adds a user; email, trust level, status and password_set take their defaults when
-- null (no address, level 0, active, a usable password); referred_by is the inviter, if any.
INSERT INTO users (username, password_hash, role, balance, email, trust_level, status, password_set, referred_by)
VALUES (@username, @password_hash, @role, @balance, sqlc.narg('email'),
        coalesce(sqlc.narg('trust_level')::smallint, 0), coalesce(sqlc.narg('status')::text, 'active'),
        coalesce(sqlc.narg('password_set')::boolean, true), sqlc.narg('referred_by')::bigint)
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
    trust_level = coalesce(sqlc.narg('trust_level'), trust_level),
    email      = CASE WHEN @set_email::boolean THEN sqlc.narg('email')::text ELSE email END,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: SetupLock :exec
-- SetupLock serialises first-run setup within a transaction.
SELECT pg_advisory_xact_lock(7001);

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
-- Identity: e-mail, passwords and TOTP (issue 11).

-- name: UserGetByEmail :one
SELECT * FROM users WHERE lower(email) = lower(@email);

-- name: UserSetPassword :exec
UPDATE users SET password_hash = @password_hash, password_set = true, updated_at = now() WHERE id = @id;

-- name: UserTOTPSet :exec
-- UserTOTPSet stores a pending TOTP secret (enabled by a first valid code); null clears it.
UPDATE users SET totp_secret_enc = sqlc.narg('secret_enc'), totp_enabled = false, totp_last_step = 0,
    updated_at = now()
WHERE id = @id;

-- name: UserTOTPEnable :exec
UPDATE users SET totp_enabled = true, updated_at = now() WHERE id = @id AND totp_secret_enc IS NOT NULL;

-- name: UserTOTPUseStep :execrows
-- UserTOTPUseStep records the time step of an accepted code; 0 rows when that step (or a later
-- one) was already used, so a code is never accepted twice.
UPDATE users SET totp_last_step = @step WHERE id = @id AND totp_last_step < @step;

-- name: UserGatewayState :one
-- UserGatewayState is what the gateway needs of a user who calls it with a session instead of an
-- API key (the same as APIKeyAuth's user columns).
SELECT u.id AS user_id, u.status AS user_status, u.balance, u.used_quota AS user_used_quota, u.tier AS user_tier, u.plan_expires_at, u.group_id,
       u.preferred_account_id, u.trust_level, coalesce(g.multiplier_permille, 1000)::integer AS multiplier_permille,
       u.account_priority, u.plan_id
FROM users u LEFT JOIN groups g ON g.id = u.group_id
WHERE u.id = @id;

-- name: UserIDByReferralCode :one
SELECT id FROM users WHERE referral_code = @referral_code;
