-- name: HookOutboxInsert :exec
INSERT INTO hook_outbox (kind, url, request_enc)
SELECT unnest(@kinds::text[]), unnest(@urls::text[]), unnest(@requests::bytea[]);

-- name: HookOutboxClaim :many
-- HookOutboxClaim leases up to lim due rows to this instance until now + lease: other instances
-- skip them while they are locked and, after the lease, retry them if this instance died.
UPDATE hook_outbox SET attempts = attempts + 1,
    next_at = coalesce(sqlc.narg('now')::timestamptz, now()) + make_interval(secs => @lease_seconds::double precision)
WHERE id IN (
    SELECT id FROM hook_outbox
    WHERE status = 'pending' AND next_at <= coalesce(sqlc.narg('now')::timestamptz, now())
    ORDER BY next_at, id
    LIMIT @lim
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: HookOutboxDelivered :exec
-- HookOutboxDelivered keeps a delivered row's metadata only: its sealed payload is emptied.
UPDATE hook_outbox SET status = 'delivered', request_enc = '\x'::bytea, last_error = '',
    delivered_at = coalesce(sqlc.narg('now')::timestamptz, now()), updated_at = coalesce(sqlc.narg('now')::timestamptz, now())
WHERE id = @id;

-- name: HookOutboxRetry :exec
UPDATE hook_outbox SET next_at = @next_at, last_error = @last_error, updated_at = now(),
    status = CASE WHEN @dead::boolean THEN 'dead' ELSE 'pending' END
WHERE id = @id;

-- name: HookOutboxPurgeDelivered :execrows
DELETE FROM hook_outbox WHERE status = 'delivered' AND delivered_at < @before::timestamptz;

-- name: HookOutboxList :many
SELECT id, kind, url, status, attempts, next_at, last_error, delivered_at, created_at, updated_at
FROM hook_outbox
WHERE sqlc.narg('status')::text IS NULL OR status = sqlc.narg('status')::text
ORDER BY id DESC
LIMIT @lim OFFSET @off;

-- name: HookOutboxListCount :one
SELECT count(*) FROM hook_outbox
WHERE sqlc.narg('status')::text IS NULL OR status = sqlc.narg('status')::text;

-- name: HookOutboxRequeue :one
-- HookOutboxRequeue puts a dead row back in the queue, due now, with a new 24-hour window.
UPDATE hook_outbox SET status = 'pending', next_at = now(), retry_from = now(), updated_at = now()
WHERE id = @id AND status = 'dead'
RETURNING id, kind, url, status, attempts, next_at, last_error, delivered_at, created_at, updated_at;

-- name: HookOutboxGet :one
SELECT id, kind, url, status, attempts, next_at, last_error, delivered_at, created_at, updated_at
FROM hook_outbox WHERE id = @id;

-- name: HookOutboxNextDue :one
SELECT coalesce(min(next_at), 'infinity'::timestamptz)::timestamptz FROM hook_outbox WHERE status = 'pending';

-- name: HookOutboxCount :one
SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead
FROM hook_outbox;
