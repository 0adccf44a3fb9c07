-- name: LimitRuleList :many
SELECT * FROM limit_rules ORDER BY id;

-- name: LimitRuleGet :one
SELECT * FROM limit_rules WHERE id = @id;

-- name: LimitRuleCreate :one
INSERT INTO limit_rules (scope, subject_id, model, window_ms, requests, tokens, concurrency)
VALUES (@scope, sqlc.narg('subject_id'), @model, @window_ms, sqlc.narg('requests'), sqlc.narg('tokens'),
        sqlc.narg('concurrency'))
RETURNING *;

-- name: LimitRuleUpdate :one
-- LimitRuleUpdate replaces an administrator's rule (the seed settings' rules change through the
-- settings).
UPDATE limit_rules SET
    scope = @scope, subject_id = sqlc.narg('subject_id'), model = @model, window_ms = @window_ms,
    requests = sqlc.narg('requests'), tokens = sqlc.narg('tokens'), concurrency = sqlc.narg('concurrency'),
    updated_at = now()
WHERE id = @id AND source = 'admin'
RETURNING *;

-- name: LimitRuleDelete :execrows
DELETE FROM limit_rules WHERE id = @id;

-- name: LimitRuleSeedList :many
-- LimitRuleSeedList lists the rules standing for seed 000's settings (flash, think, pro).
SELECT * FROM limit_rules WHERE source <> 'admin' ORDER BY source;

-- name: LimitRuleSeedSet :one
-- LimitRuleSeedSet makes or replaces the per-user rule a seed setting stands for.
INSERT INTO limit_rules (scope, model, window_ms, requests, source)
VALUES ('user', @model, @window_ms, @requests, @source)
ON CONFLICT (source) WHERE source NOT IN ('admin', 'plan') DO UPDATE SET
    scope = 'user', subject_id = NULL, model = excluded.model, window_ms = excluded.window_ms,
    requests = excluded.requests, tokens = NULL, concurrency = NULL, updated_at = now()
RETURNING *;

-- name: LimitRuleSeedDelete :exec
-- LimitRuleSeedDelete turns a seed setting's rule off.
DELETE FROM limit_rules WHERE source = @source;
