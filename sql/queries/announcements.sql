-- name: AnnouncementList :many
SELECT * FROM announcements ORDER BY id DESC;

-- name: AnnouncementCreate :one
INSERT INTO announcements (title, content, starts_at, ends_at, audience)
VALUES (@title, @content, sqlc.narg('starts_at'), sqlc.narg('ends_at'), @audience)
RETURNING *;

-- name: AnnouncementGet :one
SELECT * FROM announcements WHERE id = @id;

-- name: AnnouncementUpdate :one
UPDATE announcements SET
    title      = @title,
    content    = @content,
    starts_at  = sqlc.narg('starts_at'),
    ends_at    = sqlc.narg('ends_at'),
    audience   = @audience,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: AnnouncementDelete :execrows
DELETE FROM announcements WHERE id = @id;

-- name: AnnouncementActive :many
-- AnnouncementActive lists the announcements shown now (or at `now` when given) to the given
-- audiences, newest first.
SELECT * FROM announcements
WHERE audience = ANY (@audiences::text[])
  AND (starts_at IS NULL OR starts_at <= coalesce(sqlc.narg('now')::timestamptz, now()))
  AND (ends_at IS NULL OR ends_at > coalesce(sqlc.narg('now')::timestamptz, now()))
ORDER BY coalesce(starts_at, created_at) DESC, id DESC
LIMIT 100;
