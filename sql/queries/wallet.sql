-- name: WalletInsert :one
-- WalletInsert records a balance change once per idempotency key; no row means it was applied
-- before.
INSERT INTO wallet_transactions (user_id, kind, amount, balance_after, idempotency_key, note)
VALUES (@user_id, @kind, @amount, 0, @idempotency_key, @note)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id;

-- name: WalletApply :one
-- WalletApply adds the recorded amount to the user's balance and keeps the balance after it.
WITH u AS (
    UPDATE users SET balance = balance + sqlc.arg('amount')::bigint, updated_at = now()
    WHERE users.id = sqlc.arg('user_id')::bigint
    RETURNING balance
)
UPDATE wallet_transactions w SET balance_after = u.balance
FROM u WHERE w.id = sqlc.arg('tx_id')::bigint
RETURNING w.balance_after;

-- name: WalletList :many
SELECT * FROM wallet_transactions WHERE user_id = @user_id ORDER BY id DESC LIMIT @lim;

-- name: RedemptionCodeCreate :one
INSERT INTO redemption_codes (name, code, quota, plan_id, max_uses, expires_at)
VALUES (@name, @code, @quota, sqlc.narg('plan_id'), @max_uses, sqlc.narg('expires_at'))
RETURNING *;

-- name: RedemptionCodeList :many
SELECT * FROM redemption_codes
WHERE (sqlc.narg('name')::text IS NULL OR name = sqlc.narg('name'))
  AND (sqlc.narg('status')::text IS NULL OR sqlc.narg('status') = CASE
        WHEN disabled THEN 'disabled'
        WHEN used_count >= max_uses THEN 'used'
        WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'
        ELSE 'active' END)
ORDER BY id DESC
LIMIT @lim OFFSET @off;

-- name: RedemptionCodeCount :one
SELECT count(*) FROM redemption_codes
WHERE (sqlc.narg('name')::text IS NULL OR name = sqlc.narg('name'))
  AND (sqlc.narg('status')::text IS NULL OR sqlc.narg('status') = CASE
        WHEN disabled THEN 'disabled'
        WHEN used_count >= max_uses THEN 'used'
        WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'
        ELSE 'active' END);

-- name: RedemptionCodeExport :many
SELECT * FROM redemption_codes WHERE name = @name ORDER BY id;

-- name: RedemptionCodeUpdate :one
UPDATE redemption_codes SET
    disabled   = coalesce(sqlc.narg('disabled'), disabled),
    max_uses   = coalesce(sqlc.narg('max_uses'), max_uses),
    expires_at = CASE WHEN @set_expires_at::boolean THEN sqlc.narg('expires_at')::timestamptz ELSE expires_at END,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: RedemptionCodeDelete :execrows
DELETE FROM redemption_codes WHERE id = @id;

-- name: RedemptionCodeLock :one
-- RedemptionCodeLock takes a code for redeeming: concurrent redeems of one code queue here.
SELECT * FROM redemption_codes WHERE code = @code FOR UPDATE;

-- name: RedemptionCodeUse :execrows
-- RedemptionCodeUse records one user's use; zero rows: this user has redeemed it before.
INSERT INTO redemption_code_uses (code_id, user_id) VALUES (@code_id, @user_id)
ON CONFLICT DO NOTHING;

-- name: RedemptionCodeCountUse :exec
UPDATE redemption_codes SET used_count = used_count + 1, updated_at = now() WHERE id = @id;
