-- name: UsageLogList :many
-- UsageLogList is one page of usage logs, newest first, after the cursor (ids below before_id).
-- Status classes: 2 = 2xx/3xx (served), 4 = 4xx, 5 = 5xx.
SELECT * FROM usage_logs
WHERE (sqlc.narg('user_id')::bigint IS NULL OR user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('api_key_id')::bigint IS NULL OR api_key_id = sqlc.narg('api_key_id'))
  AND (sqlc.narg('model')::text IS NULL OR model = sqlc.narg('model'))
  AND (sqlc.narg('channel_id')::bigint IS NULL OR channel_id = sqlc.narg('channel_id'))
  AND (sqlc.narg('account_id')::bigint IS NULL OR account_id = sqlc.narg('account_id'))
  AND (sqlc.narg('request_id')::text IS NULL OR request_id = sqlc.narg('request_id'))
  AND (sqlc.narg('status_class')::integer IS NULL
       OR (sqlc.narg('status_class') = 2 AND status_code < 400)
       OR (sqlc.narg('status_class') = 4 AND status_code >= 400 AND status_code < 500)
       OR (sqlc.narg('status_class') = 5 AND status_code >= 500))
  AND (sqlc.narg('from_at')::timestamptz IS NULL OR created_at >= sqlc.narg('from_at'))
  AND (sqlc.narg('to_at')::timestamptz IS NULL OR created_at < sqlc.narg('to_at'))
  AND (sqlc.narg('before_id')::bigint IS NULL OR id < sqlc.narg('before_id'))
ORDER BY id DESC
LIMIT @lim;

-- name: UsageStats :many
-- UsageStats aggregates usage logs in [from, to) by one dimension: day or hour (in time zone
-- @tz, bucket start as local time text), model, channel, user or key (the id as text, empty for
-- none). Error classes: rate_limited 429, auth 401/403, client other 4xx, upstream 502/503/504,
-- server other 5xx. Latencies are the nearest-rank percentiles of duration_ms; first-token ones
-- over streamed calls that recorded one.
SELECT
    (CASE @group_by::text
        WHEN 'day'     THEN to_char(date_trunc('day', created_at AT TIME ZONE @tz::text), 'YYYY-MM-DD"T"HH24:MI:SS')
        WHEN 'hour'    THEN to_char(date_trunc('hour', created_at AT TIME ZONE @tz::text), 'YYYY-MM-DD"T"HH24:MI:SS')
        WHEN 'model'   THEN model
        WHEN 'channel' THEN coalesce(channel_id::text, '')
        WHEN 'user'    THEN user_id::text
        WHEN 'key'     THEN coalesce(api_key_id::text, '')
        ELSE '' END)::text AS bucket,
    count(*)::bigint AS calls,
    coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
    coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
    coalesce(sum(cached_tokens), 0)::bigint AS cached_tokens,
    coalesce(sum(cache_write_5m_tokens), 0)::bigint AS cache_write_5m_tokens,
    coalesce(sum(cache_write_1h_tokens), 0)::bigint AS cache_write_1h_tokens,
    coalesce(sum(reasoning_tokens), 0)::bigint AS reasoning_tokens,
    coalesce(sum(quota), 0)::bigint AS quota,
    count(*) FILTER (WHERE status_code >= 400)::bigint AS errors,
    count(*) FILTER (WHERE status_code = 429)::bigint AS errors_rate_limited,
    count(*) FILTER (WHERE status_code IN (401, 403))::bigint AS errors_auth,
    count(*) FILTER (WHERE status_code >= 400 AND status_code < 500 AND status_code NOT IN (401, 403, 429))::bigint AS errors_client,
    count(*) FILTER (WHERE status_code IN (502, 503, 504))::bigint AS errors_upstream,
    count(*) FILTER (WHERE status_code >= 500 AND status_code NOT IN (502, 503, 504))::bigint AS errors_server,
    coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms), 0)::integer AS latency_p50_ms,
    coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms), 0)::integer AS latency_p95_ms,
    coalesce(percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms), 0)::integer AS latency_p99_ms,
    count(first_token_ms)::bigint AS streams_timed,
    coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY first_token_ms), 0)::integer AS first_token_p50_ms,
    coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY first_token_ms), 0)::integer AS first_token_p95_ms,
    coalesce(percentile_disc(0.99) WITHIN GROUP (ORDER BY first_token_ms), 0)::integer AS first_token_p99_ms
FROM usage_logs
WHERE created_at >= @from_at::timestamptz AND created_at < @to_at::timestamptz
  AND (sqlc.narg('user_id')::bigint IS NULL OR user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('model')::text IS NULL OR model = sqlc.narg('model'))
  AND (sqlc.narg('channel_id')::bigint IS NULL OR channel_id = sqlc.narg('channel_id'))
  AND (sqlc.narg('api_key_id')::bigint IS NULL OR api_key_id = sqlc.narg('api_key_id'))
GROUP BY 1
ORDER BY 1
LIMIT 10000;

-- name: UsageSettle :one
-- UsageSettle records a batch of calls and charges them in one statement. A request id already
-- recorded is skipped, so a retried batch never charges twice. Ids of 0 and a first-token time
-- of -1 mean none. The batch's users are checked once each, not once per record (users: each
-- locked FOR KEY SHARE, as a foreign key's check locks it, so that it cannot go while the batch
-- is written): a record whose user no longer exists is skipped, and its request id returned in
-- skipped.
WITH batch AS (
    SELECT
        unnest(@request_ids::text[]) AS request_id,
        unnest(@user_ids::bigint[]) AS user_id,
        unnest(@api_key_ids::bigint[]) AS api_key_id,
        unnest(@channel_ids::bigint[]) AS channel_id,
        unnest(@account_ids::bigint[]) AS account_id,
        unnest(@models::text[]) AS model,
        unnest(@endpoints::text[]) AS endpoint,
        unnest(@streams::boolean[]) AS stream,
        unnest(@prompt_tokens::bigint[]) AS prompt_tokens,
        unnest(@completion_tokens::bigint[]) AS completion_tokens,
        unnest(@cached_tokens::bigint[]) AS cached_tokens,
        unnest(@cache_write_5m_tokens::bigint[]) AS cache_write_5m_tokens,
        unnest(@cache_write_1h_tokens::bigint[]) AS cache_write_1h_tokens,
        unnest(@reasoning_tokens::bigint[]) AS reasoning_tokens,
        unnest(@quotas::bigint[]) AS quota,
        unnest(@status_codes::integer[]) AS status_code,
        unnest(@durations_ms::integer[]) AS duration_ms,
        unnest(@created_ats::timestamptz[]) AS created_at,
        unnest(@upstream_models::text[]) AS upstream_model,
        unnest(@first_tokens_ms::integer[]) AS first_token_ms
), users_live AS (
    SELECT u.id FROM users u WHERE u.id IN (SELECT DISTINCT b.user_id FROM batch b) FOR KEY SHARE
), inserted AS (
    INSERT INTO usage_logs (request_id, user_id, api_key_id, channel_id, account_id, model, endpoint, stream,
                            prompt_tokens, completion_tokens, cached_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                            reasoning_tokens, quota, status_code, duration_ms, created_at, upstream_model, first_token_ms)
    SELECT b.request_id, b.user_id, nullif(b.api_key_id, 0), nullif(b.channel_id, 0), nullif(b.account_id, 0),
           b.model, b.endpoint, b.stream, b.prompt_tokens, b.completion_tokens, b.cached_tokens,
           b.cache_write_5m_tokens, b.cache_write_1h_tokens, b.reasoning_tokens, b.quota,
           b.status_code, b.duration_ms, b.created_at, b.upstream_model, nullif(b.first_token_ms, -1)
    FROM batch b
    WHERE b.user_id IN (SELECT l.id FROM users_live l)
    ON CONFLICT (request_id) DO NOTHING
    RETURNING user_id, api_key_id, account_id, quota, status_code, created_at
), charged_users AS (
    UPDATE users u SET
        balance       = u.balance - s.quota,
        used_quota    = u.used_quota + s.quota,
        request_count = u.request_count + s.calls
    FROM (SELECT i.user_id, sum(i.quota)::bigint AS quota, count(*) FILTER (WHERE i.status_code < 400) AS calls
          FROM inserted i GROUP BY i.user_id) s
    WHERE u.id = s.user_id
    RETURNING u.id
), charged_keys AS (
    UPDATE api_keys k SET
        used_quota    = k.used_quota + s.quota,
        request_count = k.request_count + s.calls,
        last_used_at  = greatest(k.last_used_at, s.last_at)
    FROM (SELECT i.api_key_id, sum(i.quota)::bigint AS quota, count(*) FILTER (WHERE i.status_code < 400) AS calls,
                 max(i.created_at) AS last_at
          FROM inserted i WHERE i.api_key_id IS NOT NULL GROUP BY i.api_key_id) s
    WHERE k.id = s.api_key_id
    RETURNING k.id
), used_accounts AS (
    UPDATE accounts a SET
        success_count = a.success_count + s.ok,
        failure_count = a.failure_count + s.failed,
        last_used_at  = greatest(a.last_used_at, s.last_at)
    FROM (SELECT i.account_id, count(*) FILTER (WHERE i.status_code < 400) AS ok,
                 count(*) FILTER (WHERE i.status_code >= 400) AS failed, max(i.created_at) AS last_at
          FROM inserted i WHERE i.account_id IS NOT NULL GROUP BY i.account_id) s
    WHERE a.id = s.account_id
    RETURNING a.id
)
SELECT (SELECT count(*) FROM inserted) AS written,
       (SELECT array_agg(b.request_id) FROM batch b WHERE b.user_id NOT IN (SELECT l.id FROM users_live l))::text[] AS skipped;

-- name: UsageJournalDatabase :one
-- UsageJournalDatabase identifies the database a usage journal's records belong to (its name and
-- object id): a segment is replayed only into the database it was written for.
SELECT (current_database() || '/' || d.oid::text)::text AS identity
FROM pg_catalog.pg_database d
WHERE d.datname = current_database();
