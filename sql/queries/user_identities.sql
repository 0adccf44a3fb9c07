-- name: UserIdentityGet :one
SELECT * FROM user_identities WHERE provider_id = @provider_id AND subject = @subject;

-- name: UserIdentityCreate :one
INSERT INTO user_identities (user_id, provider_id, subject, email)
VALUES (@user_id, @provider_id, @subject, @email)
RETURNING *;

-- name: UserIdentityListByUser :many
SELECT i.*, p.slug AS provider_slug, p.name AS provider_name
FROM user_identities i JOIN oidc_providers p ON p.id = i.provider_id
WHERE i.user_id = @user_id
ORDER BY i.id;
