-- name: UserGrantSet :exec
-- UserGrantSet records the tier a login check granted (seed 000 `grant`) on the user.
UPDATE users SET tier = @tier, updated_at = now() WHERE id = @id;

-- name: UserGrantGet :one
SELECT tier, plan_expires_at FROM users WHERE id = @id;
