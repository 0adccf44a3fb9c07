-- name: TokenLoginGet :one
SELECT t.user_id, u.status FROM token_logins t JOIN users u ON u.id = t.user_id WHERE t.token_hash = @token_hash;

-- name: TokenLoginCreate :exec
INSERT INTO token_logins (token_hash, user_id) VALUES (@token_hash, @user_id);

-- name: TokenLoginTouch :exec
UPDATE token_logins SET last_login_at = now() WHERE token_hash = @token_hash;
