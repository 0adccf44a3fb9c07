-- name: PasskeyCreate :one
INSERT INTO passkeys (user_id, credential_id, name, credential, sign_count)
VALUES (@user_id, @credential_id, @name, @credential, @sign_count)
RETURNING *;

-- name: PasskeyListByUser :many
SELECT * FROM passkeys WHERE user_id = @user_id ORDER BY id;

-- name: PasskeyGetByCredential :one
SELECT * FROM passkeys WHERE credential_id = @credential_id;

-- name: PasskeyUse :execrows
-- PasskeyUse records a sign-in's counter; 0 rows when another sign-in moved it meanwhile (a
-- cloned authenticator racing the original).
UPDATE passkeys SET credential = @credential, sign_count = @sign_count, last_used_at = @now::timestamptz
WHERE id = @id AND sign_count = @old_sign_count;

-- name: PasskeyDelete :execrows
DELETE FROM passkeys WHERE id = @id AND user_id = @user_id;
