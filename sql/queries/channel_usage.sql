-- name: ChannelUsage :many
-- ChannelUsage aggregates the usage logs of each channel between two times.
SELECT c.id AS channel_id, c.name,
       count(l.id) AS requests,
       count(l.id) FILTER (WHERE l.status_code < 400) AS succeeded,
       count(l.id) FILTER (WHERE l.status_code >= 400) AS failed,
       coalesce(sum(l.prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(l.completion_tokens), 0)::bigint AS completion_tokens,
       coalesce(sum(l.quota), 0)::bigint AS quota
FROM channels c
LEFT JOIN usage_logs l ON l.channel_id = c.id AND l.created_at >= @since::timestamptz AND l.created_at < @until::timestamptz
GROUP BY c.id, c.name
ORDER BY c.id;
