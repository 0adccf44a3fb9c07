-- name: ModelCreate :one
INSERT INTO models (name, input_price, output_price, cached_input_price)
VALUES (@name, @input_price, @output_price, @cached_input_price)
RETURNING *;

-- name: ModelList :many
SELECT * FROM models ORDER BY name;

-- name: ModelUpdate :one
UPDATE models SET
    input_price        = coalesce(sqlc.narg('input_price'), input_price),
    output_price       = coalesce(sqlc.narg('output_price'), output_price),
    cached_input_price = CASE WHEN @set_cached_input_price::boolean THEN sqlc.narg('cached_input_price')::bigint ELSE cached_input_price END,
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
