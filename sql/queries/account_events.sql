-- name: AccountEventSubject :one
-- AccountEventSubject is what an account event tells of an account and its contributor.
SELECT a.id, a.channel_id, coalesce(a.provider, c.type)::text AS provider, a.nickname, a.credential_tail,
       a.status, a.status_reason, (a.owner_user_id IS NULL)::boolean AS shared,
       u.id AS user_id, u.username, u.email
FROM accounts a
JOIN channels c ON c.id = a.channel_id
LEFT JOIN users u ON u.id = a.contributor_user_id
WHERE a.id = @id;
