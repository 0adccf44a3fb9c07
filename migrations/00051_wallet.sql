-- +goose Up
-- Wallet (issue 13): every balance change outside gateway calls is one row here, applied in the
-- same transaction as the balance update. idempotency_key makes each change happen at most once
-- (a redeem, a check-in day, a paid order), however often or concurrently it is attempted.
CREATE TABLE wallet_transactions (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('redeem', 'check_in', 'top_up', 'referral', 'admin')),
    amount          bigint NOT NULL,
    balance_after   bigint NOT NULL,
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    note            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_transactions_user_idx ON wallet_transactions (user_id, id DESC);

-- Redemption codes (CDK): a batch shares a name; a code grants quota, at most max_uses times in
-- all and at most once per user (redemption_code_uses' primary key).
CREATE TABLE redemption_codes (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    code       text NOT NULL UNIQUE CHECK (length(code) BETWEEN 8 AND 64),
    quota      bigint NOT NULL CHECK (quota > 0),
    max_uses   integer NOT NULL DEFAULT 1 CHECK (max_uses >= 1),
    used_count integer NOT NULL DEFAULT 0 CHECK (used_count >= 0 AND used_count <= max_uses),
    disabled   boolean NOT NULL DEFAULT false,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redemption_codes_name_idx ON redemption_codes (name, id);

CREATE TABLE redemption_code_uses (
    code_id    bigint NOT NULL REFERENCES redemption_codes (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code_id, user_id)
);

-- +goose Down
DROP TABLE redemption_code_uses;
DROP TABLE redemption_codes;
DROP TABLE wallet_transactions;
