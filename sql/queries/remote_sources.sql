-- name: RemoteSourceCreate :one
INSERT INTO remote_sources (id, name, enabled, url, method, auth_header, auth_token_enc, bearer_token_enc,
                            provider, sync_strategy, interval_seconds, channel_id)
VALUES (sqlc.arg('id'), sqlc.arg('name'), sqlc.arg('enabled'), sqlc.arg('url'), sqlc.arg('method'),
        sqlc.arg('auth_header'), sqlc.narg('auth_token_enc'), sqlc.narg('bearer_token_enc'), sqlc.arg('provider'),
        sqlc.arg('sync_strategy'), sqlc.narg('interval_seconds'), sqlc.narg('channel_id'))
RETURNING *;

-- name: RemoteSourceGet :one
SELECT * FROM remote_sources WHERE id = @id;

-- name: RemoteSourceList :many
SELECT * FROM remote_sources ORDER BY created_at, id;

-- name: RemoteSourceUpdate :one
-- RemoteSourceUpdate changes the fields given. The sealed secrets, the interval and the channel
-- can be cleared, so each has a set_ flag; a changed interval reschedules the next sync.
UPDATE remote_sources SET
    name             = coalesce(sqlc.narg('name'), name),
    enabled          = coalesce(sqlc.narg('enabled'), enabled),
    url              = coalesce(sqlc.narg('url'), url),
    method           = coalesce(sqlc.narg('method'), method),
    auth_header      = coalesce(sqlc.narg('auth_header'), auth_header),
    auth_token_enc   = CASE WHEN @set_auth_token::boolean THEN sqlc.narg('auth_token_enc') ELSE auth_token_enc END,
    bearer_token_enc = CASE WHEN @set_bearer_token::boolean THEN sqlc.narg('bearer_token_enc') ELSE bearer_token_enc END,
    provider         = coalesce(sqlc.narg('provider'), provider),
    sync_strategy    = coalesce(sqlc.narg('sync_strategy'), sync_strategy),
    interval_seconds = CASE WHEN @set_interval::boolean THEN sqlc.narg('interval_seconds') ELSE interval_seconds END,
    next_sync_at     = CASE WHEN @set_interval::boolean THEN NULL ELSE next_sync_at END,
    channel_id       = CASE WHEN @set_channel::boolean THEN sqlc.narg('channel_id') ELSE channel_id END,
    updated_at       = now()
WHERE id = @id
RETURNING *;

-- name: RemoteSourceDelete :execrows
DELETE FROM remote_sources WHERE id = @id;

-- name: RemoteSourceSynced :exec
-- RemoteSourceSynced records a finished sync: its job, and the time of the last successful one.
UPDATE remote_sources SET
    last_job_id  = @last_job_id,
    last_sync_at = CASE WHEN @success::boolean THEN @finished_at::timestamptz ELSE last_sync_at END
WHERE id = @id;

-- name: RemoteSourceClaimDue :many
-- RemoteSourceClaimDue claims the enabled sources whose scheduled sync is due at @now, pushing
-- their next sync one interval ahead, so no other run picks them up again.
UPDATE remote_sources SET next_sync_at = sqlc.arg('now')::timestamptz + make_interval(0, 0, 0, 0, 0, 0, interval_seconds)
WHERE enabled AND interval_seconds IS NOT NULL AND (next_sync_at IS NULL OR next_sync_at <= sqlc.arg('now')::timestamptz)
RETURNING *;

-- name: ImportJobCreate :one
INSERT INTO import_jobs (id, source_id, source_name, trigger, strategy, status, created_at, updated_at)
VALUES (@id, @source_id, @source_name, @trigger, @strategy, 'running', @now::timestamptz, @now::timestamptz)
RETURNING *;

-- name: ImportJobFinish :one
UPDATE import_jobs SET status = @status, total = @total, added = @added, skipped = @skipped, removed = @removed,
    failed = @failed, errors = @errors, updated_at = @now::timestamptz
WHERE id = @id
RETURNING *;

-- name: ImportJobListByIDs :many
SELECT * FROM import_jobs WHERE id = ANY(@ids::text[]);

-- name: ImportJobListBySource :many
SELECT * FROM import_jobs WHERE source_id = @source_id ORDER BY created_at DESC, seq DESC LIMIT @lim;

-- name: RemoteSchedulerTryLock :one
-- RemoteSchedulerTryLock takes the session lock that makes one instance at a time run scheduled
-- syncs; it answers false at once when another instance holds it.
SELECT pg_try_advisory_lock(@key::bigint);

-- name: RemoteSchedulerUnlock :exec
SELECT pg_advisory_unlock(@key::bigint);
