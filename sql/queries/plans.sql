-- name: PlanList :many
SELECT * FROM plans ORDER BY price, id;

-- name: PlanListEnabled :many
SELECT * FROM plans WHERE enabled ORDER BY price, id;

-- name: PlanGet :one
SELECT * FROM plans WHERE id = @id;

-- name: PlanCreate :one
INSERT INTO plans (name, tier, duration_days, quota, price, description, enabled)
VALUES (@name, @tier, @duration_days, @quota, @price, @description, @enabled)
RETURNING *;

-- name: PlanUpdate :one
UPDATE plans SET
    name          = coalesce(sqlc.narg('name'), name),
    tier          = coalesce(sqlc.narg('tier'), tier),
    duration_days = coalesce(sqlc.narg('duration_days'), duration_days),
    quota         = coalesce(sqlc.narg('quota'), quota),
    price         = coalesce(sqlc.narg('price'), price),
    description   = coalesce(sqlc.narg('description'), description),
    enabled       = coalesce(sqlc.narg('enabled'), enabled),
    updated_at    = now()
WHERE id = @id
RETURNING *;

-- name: PlanDelete :execrows
DELETE FROM plans WHERE id = @id;

-- name: PlanLimitList :many
SELECT * FROM limit_rules WHERE plan_id = ANY(@plan_ids::bigint[]) ORDER BY plan_id, id;

-- name: PlanLimitClear :exec
DELETE FROM limit_rules WHERE plan_id = @plan_id;

-- name: PlanLimitAdd :exec
INSERT INTO limit_rules (scope, model, window_ms, requests, tokens, concurrency, source, plan_id)
VALUES ('user', @model, @window_ms, sqlc.narg('requests'), sqlc.narg('tokens'), sqlc.narg('concurrency'), 'plan', @plan_id);

-- name: PlanUserLock :one
-- PlanUserLock takes the user's row for a grant: concurrent grants to one user queue here.
SELECT id, tier, plan_id, plan_expires_at FROM users WHERE id = @id FOR UPDATE;

-- name: PlanUserSet :exec
UPDATE users SET tier = @tier, plan_id = @plan_id, plan_expires_at = @plan_expires_at, updated_at = now()
WHERE id = @id;

-- name: SubscriptionInsert :one
-- SubscriptionInsert records a grant once per idempotency key; no row means it was made before.
INSERT INTO subscriptions (user_id, plan_id, plan_name, tier, source, kind, starts_at, expires_at, quota, idempotency_key)
VALUES (@user_id, @plan_id, @plan_name, @tier, @source, @kind, @starts_at, @expires_at, @quota, @idempotency_key)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: SubscriptionByKey :one
SELECT * FROM subscriptions WHERE idempotency_key = @idempotency_key;

-- name: SubscriptionList :many
SELECT * FROM subscriptions WHERE user_id = @user_id ORDER BY id DESC LIMIT @lim;

-- name: SubscriptionCurrent :one
-- SubscriptionCurrent is a user's plan as the gateway applies it.
SELECT u.tier, u.plan_id, u.plan_expires_at, p.name AS plan_name
FROM users u LEFT JOIN plans p ON p.id = u.plan_id
WHERE u.id = @id;

-- name: PlanUsersRetier :exec
-- PlanUsersRetier gives a plan's users its new tier (their expiry stays).
UPDATE users SET tier = @tier, updated_at = now() WHERE plan_id = @plan_id;

-- name: UserBalance :one
SELECT balance FROM users WHERE id = @id;
