-- +goose Up
-- A model's output cap (issue 12, docs/limits.md § Ledger): the most output tokens one call can
-- produce. A call that sets no max_tokens reserves this many output tokens at the output price
-- (NULL: none, the reservation covers the prompt only).
ALTER TABLE models ADD COLUMN output_cap bigint CHECK (output_cap IS NULL OR output_cap BETWEEN 1 AND 100000000);

-- +goose Down
ALTER TABLE models DROP COLUMN output_cap;
