-- +goose Up
-- Full model prices (issue 13): every usage dimension an upstream reports has its own price.
-- Token prices are integer quota units per million tokens; NULL means "as the base price"
-- (cache writes as input, reasoning as output). per_call_price is charged once per charged call,
-- image_price once per generated image. prompt_tier, when set, is
-- {"above_tokens", "input_price", "output_price", "cached_input_price"?, "cache_write_5m_price"?,
-- "cache_write_1h_price"?, "reasoning_price"?}: a call whose prompt exceeds above_tokens has all
-- its tokens priced at the tier's prices (as Claude and Gemini price long prompts).
ALTER TABLE models
    ADD COLUMN cache_write_5m_price bigint CHECK (cache_write_5m_price >= 0),
    ADD COLUMN cache_write_1h_price bigint CHECK (cache_write_1h_price >= 0),
    ADD COLUMN reasoning_price      bigint CHECK (reasoning_price >= 0),
    ADD COLUMN per_call_price       bigint NOT NULL DEFAULT 0 CHECK (per_call_price >= 0),
    ADD COLUMN image_price          bigint NOT NULL DEFAULT 0 CHECK (image_price >= 0),
    ADD COLUMN prompt_tier          jsonb CHECK (prompt_tier IS NULL OR jsonb_typeof(prompt_tier) = 'object');

-- +goose Down
ALTER TABLE models
    DROP COLUMN prompt_tier,
    DROP COLUMN image_price,
    DROP COLUMN per_call_price,
    DROP COLUMN reasoning_price,
    DROP COLUMN cache_write_1h_price,
    DROP COLUMN cache_write_5m_price;
