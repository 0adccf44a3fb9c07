-- name: UsageLogList :many
SELECT * FROM usage_logs
WHERE (sqlc.narg('user_id')::bigint IS NULL OR user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('model')::text IS NULL OR model = sqlc.narg('model'))
ORDER BY id DESC
LIMIT @lim OFFSET @off;

-- name: UsageLogCount :one
SELECT count(*) FROM usage_logs
WHERE (sqlc.narg('user_id')::bigint IS NULL OR user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('model')::text IS NULL OR model = sqlc.narg('model'));

-- name: UsageSettle :one
-- UsageSettle records a batch of calls and charges them in one statement. A request id already
-- recorded is skipped, so a retried batch never charges twice. Ids of 0 mean none.
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
        unnest(@created_ats::timestamptz[]) AS created_at
), inserted AS (
    INSERT INTO usage_logs (request_id, user_id, api_key_id, channel_id, account_id, model, endpoint, stream,
                            prompt_tokens, completion_tokens, cached_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                            reasoning_tokens, quota, status_code, duration_ms, created_at)
    SELECT b.request_id, b.user_id, nullif(b.api_key_id, 0), nullif(b.channel_id, 0), nullif(b.account_id, 0),
           b.model, b.endpoint, b.stream, b.prompt_tokens, b.completion_tokens, b.cached_tokens,
           b.cache_write_5m_tokens, b.cache_write_1h_tokens, b.reasoning_tokens, b.quota,
           b.status_code, b.duration_ms, b.created_at
    FROM batch b
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
SELECT count(*) FROM inserted;
