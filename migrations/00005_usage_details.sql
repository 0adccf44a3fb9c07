-- +goose Up
-- Usage detail for the protocols work: input tokens written to Claude's prompt caches (5-minute
-- and 1-hour writes are priced differently) and output tokens spent reasoning. Both are parts of
-- prompt_tokens and completion_tokens respectively, never added to them.
ALTER TABLE usage_logs
    ADD COLUMN cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN reasoning_tokens      bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE usage_logs
    DROP COLUMN reasoning_tokens,
    DROP COLUMN cache_write_1h_tokens,
    DROP COLUMN cache_write_5m_tokens;
