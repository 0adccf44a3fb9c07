-- +goose Up
-- Plans (issue 13, docs/money.md § Plans): a plan grants a tier for duration_days, quota units
-- once, and the limit rules that name it (limit_rules.plan_id; counted per user, applied while
-- the user's plan is this one and has not expired). price is in the smallest currency unit
-- (cents). A user's current plan is users.plan_id with users.tier and users.plan_expires_at;
-- each grant is one subscriptions row.
CREATE TABLE plans (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    tier          text NOT NULL CHECK (tier IN ('free', 'pro', 'ultra')),
    duration_days integer NOT NULL CHECK (duration_days BETWEEN 1 AND 3660),
    quota         bigint NOT NULL DEFAULT 0 CHECK (quota >= 0),
    price         bigint NOT NULL DEFAULT 0 CHECK (price >= 0),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan_id         bigint REFERENCES plans (id) ON DELETE SET NULL,
    plan_name       text NOT NULL,
    tier            text NOT NULL CHECK (tier IN ('free', 'pro', 'ultra')),
    source          text NOT NULL CHECK (source IN ('admin', 'code', 'payment')),
    -- kind: 'new' (no plan was running), 'renewal' (same tier: extends), 'upgrade' (higher tier:
    -- at once).
    kind            text NOT NULL CHECK (kind IN ('new', 'renewal', 'upgrade')),
    starts_at       timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    quota           bigint NOT NULL DEFAULT 0,
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_user_idx ON subscriptions (user_id, id DESC);

ALTER TABLE users ADD COLUMN plan_id bigint REFERENCES plans (id) ON DELETE SET NULL;

-- A plan's limit rules: scope 'user' rules that apply only to users on the plan.
ALTER TABLE limit_rules ADD COLUMN plan_id bigint REFERENCES plans (id) ON DELETE CASCADE;
ALTER TABLE limit_rules DROP CONSTRAINT limit_rules_source_check;
ALTER TABLE limit_rules ADD CONSTRAINT limit_rules_source_check
    CHECK (source IN ('admin', 'flash', 'think', 'pro', 'plan'));
ALTER TABLE limit_rules ADD CONSTRAINT limit_rules_plan_check
    CHECK ((plan_id IS NULL) = (source <> 'plan') AND (plan_id IS NULL OR (scope = 'user' AND subject_id IS NULL)));
DROP INDEX limit_rules_source;
CREATE UNIQUE INDEX limit_rules_source ON limit_rules (source) WHERE source NOT IN ('admin', 'plan');

-- A redemption code grants quota or a plan.
ALTER TABLE redemption_codes ADD COLUMN plan_id bigint REFERENCES plans (id) ON DELETE RESTRICT;
ALTER TABLE redemption_codes DROP CONSTRAINT redemption_codes_quota_check;
ALTER TABLE redemption_codes ADD CONSTRAINT redemption_codes_quota_check
    CHECK (quota >= 0 AND (quota > 0) <> (plan_id IS NOT NULL));

-- +goose Down
DELETE FROM redemption_codes WHERE plan_id IS NOT NULL;
ALTER TABLE redemption_codes DROP CONSTRAINT redemption_codes_quota_check;
ALTER TABLE redemption_codes ADD CONSTRAINT redemption_codes_quota_check CHECK (quota > 0);
ALTER TABLE redemption_codes DROP COLUMN plan_id;
DELETE FROM limit_rules WHERE source = 'plan';
DROP INDEX limit_rules_source;
CREATE UNIQUE INDEX limit_rules_source ON limit_rules (source) WHERE source <> 'admin';
ALTER TABLE limit_rules DROP CONSTRAINT limit_rules_plan_check;
ALTER TABLE limit_rules DROP CONSTRAINT limit_rules_source_check;
ALTER TABLE limit_rules ADD CONSTRAINT limit_rules_source_check CHECK (source IN ('admin', 'flash', 'think', 'pro'));
ALTER TABLE limit_rules DROP COLUMN plan_id;
ALTER TABLE users DROP COLUMN plan_id;
DROP TABLE subscriptions;
DROP TABLE plans;
