-- name: MetricsAccountStates :many
-- MetricsAccountStates counts accounts by status for /metrics.
SELECT status, count(*)::bigint AS accounts FROM accounts GROUP BY status ORDER BY status;

-- name: MetricsAccountsCooling :one
-- MetricsAccountsCooling counts accounts whose cooldown has not ended.
SELECT count(*)::bigint FROM accounts WHERE cooling_until > now();

-- name: MetricsHookOutboxPending :one
-- MetricsHookOutboxPending counts notifications waiting for delivery.
SELECT count(*)::bigint FROM hook_outbox WHERE status = 'pending';
