-- +goose Up
-- Payments (issue 13, docs/money.md): a top-up order is paid at a gateway (yipay, the EPay
-- protocol, or openpayment); the gateway's signed notify marks it paid and credits the wallet
-- exactly once (the order row is locked, the wallet key is order:<order_no>).
CREATE TABLE payment_orders (
    id           bigserial PRIMARY KEY,
    order_no     text NOT NULL UNIQUE CHECK (length(order_no) BETWEEN 8 AND 64),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method       text NOT NULL CHECK (method IN ('yipay', 'openpayment')),
    pay_type     text NOT NULL DEFAULT '',
    -- amount is in cents of the site's currency; quota is what the payment credits.
    amount       bigint NOT NULL CHECK (amount > 0),
    quota        bigint NOT NULL CHECK (quota >= 0),
    plan_id      bigint,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid')),
    trade_no     text NOT NULL DEFAULT '',
    expires_at   timestamptz NOT NULL,
    paid_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_orders_user_idx ON payment_orders (user_id, id DESC);

-- Every notify a gateway sends (valid or not) is kept for audit with what was decided.
CREATE TABLE payment_notifies (
    id          bigserial PRIMARY KEY,
    method      text NOT NULL,
    order_no    text NOT NULL DEFAULT '',
    trade_no    text NOT NULL DEFAULT '',
    params      jsonb NOT NULL,
    result      text NOT NULL,
    remote_addr text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_notifies_order_idx ON payment_notifies (order_no, id);

-- Referral: every user has a code (12 hex characters, made on insert); referred_by is the
-- inviter whose code the user registered with.
ALTER TABLE users
    ADD COLUMN referral_code text NOT NULL DEFAULT substr(replace(gen_random_uuid()::text, '-', ''), 1, 12),
    ADD COLUMN referred_by bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX users_referral_code_key ON users (referral_code);
CREATE INDEX users_referred_by_idx ON users (referred_by) WHERE referred_by IS NOT NULL;

-- One commission per paid order (order_id is unique): a share of the invitee's top-up credited
-- to the inviter.
CREATE TABLE referral_commissions (
    id         bigserial PRIMARY KEY,
    inviter_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invitee_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    order_id   bigint NOT NULL UNIQUE REFERENCES payment_orders (id) ON DELETE CASCADE,
    amount     bigint NOT NULL CHECK (amount >= 0),
    permille   integer NOT NULL CHECK (permille BETWEEN 0 AND 1000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_commissions_inviter_idx ON referral_commissions (inviter_id, id DESC);

-- +goose Down
DROP TABLE referral_commissions;
DROP INDEX users_referred_by_idx;
DROP INDEX users_referral_code_key;
ALTER TABLE users DROP COLUMN referred_by, DROP COLUMN referral_code;
DROP TABLE payment_notifies;
DROP TABLE payment_orders;
