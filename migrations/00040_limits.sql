-- +goose Up
-- Limit rules (issue 12, docs/limits.md): at most `requests` calls and `tokens` input+output
-- tokens started in any span of `window_ms`, and at most `concurrency` calls in flight, per
-- subject of the scope (subject_id NULL: every subject, each counted on its own) for the models
-- matching `model` ("*", exact, "prefix*" or "*part*"). `source` is 'admin' for rules made through
-- /api/limits, or the seed setting ('flash', 'think', 'pro') a rule stands for.
CREATE TABLE limit_rules (
    id          bigserial PRIMARY KEY,
    scope       text NOT NULL CHECK (scope IN ('user', 'key', 'group', 'global')),
    subject_id  bigint CHECK (subject_id > 0),
    model       text NOT NULL CHECK (length(model) BETWEEN 1 AND 128),
    window_ms   bigint NOT NULL CHECK (window_ms BETWEEN 1000 AND 2678400000),
    requests    bigint CHECK (requests > 0),
    tokens      bigint CHECK (tokens > 0),
    concurrency bigint CHECK (concurrency > 0),
    source      text NOT NULL DEFAULT 'admin' CHECK (source IN ('admin', 'flash', 'think', 'pro')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (scope <> 'global' OR subject_id IS NULL),
    CHECK (requests IS NOT NULL OR tokens IS NOT NULL OR concurrency IS NOT NULL)
);

-- One rule per seed setting.
CREATE UNIQUE INDEX limit_rules_source ON limit_rules (source) WHERE source <> 'admin';

-- +goose Down
DROP TABLE limit_rules;
