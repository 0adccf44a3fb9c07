-- name: EmailCodeCreate :one
INSERT INTO email_codes (email, purpose, code_hash, expires_at)
VALUES (lower(@email), @purpose, @code_hash, @expires_at)
RETURNING id;

-- name: EmailCodeLatest :one
-- EmailCodeLatest is the newest live code of an address for a purpose.
SELECT * FROM email_codes
WHERE email = lower(@email) AND purpose = @purpose AND used_at IS NULL AND expires_at > @now
ORDER BY id DESC
LIMIT 1;

-- name: EmailCodeUse :execrows
-- EmailCodeUse spends a code once: 0 rows when it was used meanwhile.
UPDATE email_codes SET used_at = @now::timestamptz WHERE id = @id AND used_at IS NULL;

-- name: EmailCodeMiss :one
-- EmailCodeMiss counts a wrong guess and returns the count.
UPDATE email_codes SET attempts = attempts + 1 WHERE id = @id RETURNING attempts;

-- name: EmailCodeRetire :exec
-- EmailCodeRetire ends the live codes of an address for a purpose (a new code replaces them).
UPDATE email_codes SET used_at = @now::timestamptz WHERE email = lower(@email) AND purpose = @purpose AND used_at IS NULL;

-- name: EmailCodePurge :exec
DELETE FROM email_codes WHERE expires_at < @before;
