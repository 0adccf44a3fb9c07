-- name: ReferralCommissionInsert :execrows
-- ReferralCommissionInsert records an order's commission; zero rows: recorded before.
INSERT INTO referral_commissions (inviter_id, invitee_id, order_id, amount, permille)
VALUES (@inviter_id, @invitee_id, @order_id, @amount, @permille)
ON CONFLICT (order_id) DO NOTHING;

-- name: ReferralSummary :one
-- ReferralSummary is what an inviter has: invitees and commission earned.
SELECT (SELECT count(*) FROM users WHERE referred_by = sqlc.arg('user_id')::bigint)::bigint AS invitees,
       (SELECT coalesce(sum(amount), 0) FROM referral_commissions WHERE inviter_id = sqlc.arg('user_id')::bigint)::bigint AS earned;

-- name: ReferralInviteeList :many
SELECT u.id, u.username, u.created_at,
       coalesce((SELECT sum(c.amount) FROM referral_commissions c WHERE c.invitee_id = u.id AND c.inviter_id = @user_id), 0)::bigint AS earned
FROM users u WHERE u.referred_by = @user_id
ORDER BY u.id DESC LIMIT @lim;

-- name: ReferralCommissionList :many
SELECT c.*, o.order_no, i.username AS inviter_username, e.username AS invitee_username
FROM referral_commissions c
JOIN payment_orders o ON o.id = c.order_id
JOIN users i ON i.id = c.inviter_id
JOIN users e ON e.id = c.invitee_id
WHERE (sqlc.narg('inviter_id')::bigint IS NULL OR c.inviter_id = sqlc.narg('inviter_id'))
ORDER BY c.id DESC
LIMIT @lim OFFSET @off;

-- name: ReferralCommissionCount :one
SELECT count(*) FROM referral_commissions
WHERE (sqlc.narg('inviter_id')::bigint IS NULL OR inviter_id = sqlc.narg('inviter_id'));
