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

-- name: HookOutboxDelete :exec
DELETE FROM hook_outbox WHERE id = @id;

-- name: HookOutboxRetry :exec
UPDATE hook_outbox SET next_at = @next_at, last_error = @last_error,
    status = CASE WHEN @dead::boolean THEN 'dead' ELSE 'pending' END
WHERE id = @id;

-- name: HookOutboxNextDue :one
SELECT coalesce(min(next_at), 'infinity'::timestamptz)::timestamptz FROM hook_outbox WHERE status = 'pending';

-- name: HookOutboxCount :one
SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead
FROM hook_outbox;
