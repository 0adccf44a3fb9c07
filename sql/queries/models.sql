-- name: ModelCreate :one
INSERT INTO models (name, input_price, output_price, cached_input_price, cache_write_5m_price,
    cache_write_1h_price, reasoning_price, per_call_price, image_price, prompt_tier, output_cap)
VALUES (@name, @input_price, @output_price, @cached_input_price, sqlc.narg('cache_write_5m_price'),
    sqlc.narg('cache_write_1h_price'), sqlc.narg('reasoning_price'), @per_call_price, @image_price,
    sqlc.narg('prompt_tier'), sqlc.narg('output_cap'))
RETURNING *;

-- name: ModelList :many
SELECT * FROM models ORDER BY name;

-- name: ModelUpdate :one
UPDATE models SET
    input_price        = coalesce(sqlc.narg('input_price'), input_price),
    output_price       = coalesce(sqlc.narg('output_price'), output_price),
    cached_input_price = CASE WHEN @set_cached_input_price::boolean THEN sqlc.narg('cached_input_price')::bigint ELSE cached_input_price END,
    cache_write_5m_price = CASE WHEN @set_cache_write_5m_price::boolean THEN sqlc.narg('cache_write_5m_price')::bigint ELSE cache_write_5m_price END,
    cache_write_1h_price = CASE WHEN @set_cache_write_1h_price::boolean THEN sqlc.narg('cache_write_1h_price')::bigint ELSE cache_write_1h_price END,
    reasoning_price    = CASE WHEN @set_reasoning_price::boolean THEN sqlc.narg('reasoning_price')::bigint ELSE reasoning_price END,
    per_call_price     = coalesce(sqlc.narg('per_call_price'), per_call_price),
    image_price        = coalesce(sqlc.narg('image_price'), image_price),
    prompt_tier        = CASE WHEN @set_prompt_tier::boolean THEN sqlc.narg('prompt_tier')::jsonb ELSE prompt_tier END,
    output_cap         = CASE WHEN @set_output_cap::boolean THEN sqlc.narg('output_cap')::bigint ELSE output_cap END,
    updated_at         = now()
WHERE id = @id
RETURNING *;

-- name: ModelDelete :execrows
DELETE FROM models WHERE id = @id;

-- name: ModelUpdateByName :one
-- ModelUpdateByName sets every price of a model (price sync).
UPDATE models SET
    input_price        = @input_price,
    output_price       = @output_price,
    cached_input_price = sqlc.narg('cached_input_price')::bigint,
    updated_at         = now()
WHERE name = @name
RETURNING *;
