-- name: TokenLoginGet :one
SELECT t.user_id, u.status FROM token_logins t JOIN users u ON u.id = t.user_id WHERE t.token_hash = @token_hash;

-- name: TokenLoginCreate :exec
INSERT INTO token_logins (token_hash, user_id, token_enc) VALUES (@token_hash, @user_id, @token_enc);

-- name: TokenLoginTouch :exec
-- TokenLoginTouch records a sign-in, and seals the token of a row from before tokens were kept.
UPDATE token_logins SET last_login_at = now(), token_enc = coalesce(token_enc, @token_enc)
WHERE token_hash = @token_hash;

-- name: TokenLoginSealedForUser :one
-- TokenLoginSealedForUser is the sealed login-hook token a user last signed in with.
SELECT token_enc FROM token_logins
WHERE user_id = @user_id AND token_enc IS NOT NULL
ORDER BY last_login_at DESC LIMIT 1;
