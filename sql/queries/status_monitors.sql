-- name: StatusMonitorCreate :one
INSERT INTO status_monitors (name, channel_id, model, interval_seconds, public, enabled)
VALUES (@name, @channel_id, @model, @interval_seconds, @public, @enabled)
RETURNING *;

-- name: StatusMonitorGet :one
SELECT * FROM status_monitors WHERE id = @id;

-- name: StatusMonitorList :many
SELECT * FROM status_monitors ORDER BY id;

-- name: StatusMonitorListPublic :many
-- StatusMonitorListPublic lists the public monitors with their uptime since @since.
SELECT m.*,
       (SELECT count(*) FROM status_checks s WHERE s.monitor_id = m.id AND s.checked_at >= @since::timestamptz) AS checks,
       (SELECT count(*) FROM status_checks s WHERE s.monitor_id = m.id AND s.checked_at >= @since::timestamptz AND s.up) AS checks_up
FROM status_monitors m
WHERE m.public AND m.enabled
ORDER BY m.id;

-- name: StatusCheckHours :many
-- StatusCheckHours counts the public monitors' checks, and those that passed, per UTC hour since
-- @since (the status page's uptime bars).
SELECT s.monitor_id,
       (date_trunc('hour', s.checked_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::timestamptz AS hour,
       count(*) AS checks,
       count(*) FILTER (WHERE s.up) AS checks_up
FROM status_checks s
JOIN status_monitors m ON m.id = s.monitor_id
WHERE m.public AND m.enabled AND s.checked_at >= @since::timestamptz
GROUP BY s.monitor_id, hour
ORDER BY s.monitor_id, hour;

-- name: StatusMonitorListDue :many
-- StatusMonitorListDue lists the enabled monitors whose interval has passed at @now.
SELECT * FROM status_monitors
WHERE enabled
  AND (last_checked_at IS NULL OR last_checked_at + make_interval(secs => interval_seconds) <= @now::timestamptz)
ORDER BY id;

-- name: StatusMonitorUpdate :one
UPDATE status_monitors SET
    name             = coalesce(sqlc.narg('name'), name),
    channel_id       = coalesce(sqlc.narg('channel_id'), channel_id),
    model            = coalesce(sqlc.narg('model'), model),
    interval_seconds = coalesce(sqlc.narg('interval_seconds'), interval_seconds),
    public           = coalesce(sqlc.narg('public'), public),
    enabled          = coalesce(sqlc.narg('enabled'), enabled),
    updated_at       = now()
WHERE id = @id
RETURNING *;

-- name: StatusMonitorDelete :execrows
DELETE FROM status_monitors WHERE id = @id;

-- name: StatusMonitorRecord :one
-- StatusMonitorRecord stores a check result and keeps the last 500 checks of the monitor.
WITH ins AS (
    INSERT INTO status_checks (monitor_id, up, latency_ms, message, checked_at)
    VALUES (@id::bigint, @up::boolean, @latency_ms::integer, @message::text, @checked_at::timestamptz)
), pruned AS (
    DELETE FROM status_checks WHERE monitor_id = @id::bigint AND id IN (
        SELECT id FROM status_checks WHERE monitor_id = @id::bigint ORDER BY checked_at DESC OFFSET 499)
)
UPDATE status_monitors SET
    last_status     = CASE WHEN @up::boolean THEN 'up' ELSE 'down' END,
    last_latency_ms = @latency_ms::integer,
    last_message    = @message::text,
    last_checked_at = @checked_at::timestamptz
WHERE status_monitors.id = @id::bigint
RETURNING *;
