-- name: LedgerFresh :one
-- LedgerFresh reads what a reservation is checked against when the shared ledger holds nothing for
-- the caller yet (docs/limits.md, ledger): the user's balance and used quota, and the key's quota
-- limit (-1: none) and used quota (key 0: none).
SELECT u.balance, u.used_quota,
       coalesce(k.quota_limit, -1)::bigint AS key_quota_limit,
       coalesce(k.used_quota, 0)::bigint AS key_used_quota
FROM users u LEFT JOIN api_keys k ON k.id = @key_id AND k.user_id = u.id
WHERE u.id = @user_id;
