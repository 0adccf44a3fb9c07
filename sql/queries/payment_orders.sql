-- name: PaymentOrderCreate :one
INSERT INTO payment_orders (order_no, user_id, method, pay_type, amount, quota, plan_id, expires_at)
VALUES (@order_no, @user_id, @method, @pay_type, @amount, @quota, sqlc.narg('plan_id'), @expires_at)
RETURNING *;

-- name: PaymentOrderGet :one
SELECT * FROM payment_orders WHERE order_no = @order_no;

-- name: PaymentOrderGetForUser :one
SELECT * FROM payment_orders WHERE order_no = @order_no AND user_id = @user_id;

-- name: PaymentOrderLock :one
-- PaymentOrderLock takes an order for a notify: concurrent notifies of one order queue here.
SELECT * FROM payment_orders WHERE order_no = @order_no FOR UPDATE;

-- name: PaymentOrderMarkPaid :one
UPDATE payment_orders SET status = 'paid', trade_no = @trade_no, paid_at = @paid_at, updated_at = now()
WHERE id = @id AND status = 'pending'
RETURNING *;

-- name: PaymentOrderListByUser :many
SELECT * FROM payment_orders WHERE user_id = @user_id ORDER BY id DESC LIMIT @lim OFFSET @off;

-- name: PaymentOrderCountByUser :one
SELECT count(*) FROM payment_orders WHERE user_id = @user_id;

-- name: PaymentOrderList :many
-- PaymentOrderList filters by user and by status as the API shows it (expired: pending past
-- expires_at).
SELECT o.*, u.username FROM payment_orders o JOIN users u ON u.id = o.user_id
WHERE (sqlc.narg('user_id')::bigint IS NULL OR o.user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('status')::text IS NULL OR sqlc.narg('status') = CASE
        WHEN o.status = 'paid' THEN 'paid'
        WHEN o.expires_at <= @now THEN 'expired'
        ELSE 'pending' END)
ORDER BY o.id DESC
LIMIT @lim OFFSET @off;

-- name: PaymentOrderCount :one
SELECT count(*) FROM payment_orders o
WHERE (sqlc.narg('user_id')::bigint IS NULL OR o.user_id = sqlc.narg('user_id'))
  AND (sqlc.narg('status')::text IS NULL OR sqlc.narg('status') = CASE
        WHEN o.status = 'paid' THEN 'paid'
        WHEN o.expires_at <= @now THEN 'expired'
        ELSE 'pending' END);

-- name: PaymentNotifyInsert :exec
INSERT INTO payment_notifies (method, order_no, trade_no, params, result, remote_addr)
VALUES (@method, @order_no, @trade_no, @params, @result, @remote_addr);

-- name: PaymentNotifyList :many
SELECT * FROM payment_notifies
WHERE (sqlc.narg('order_no')::text IS NULL OR order_no = sqlc.narg('order_no'))
ORDER BY id DESC LIMIT @lim;
