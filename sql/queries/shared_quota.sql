-- name: SharedQuotaContributions :many
-- SharedQuotaContributions counts a user's usable shared contributed accounts by channel: each
-- one raises their shared quota cap of the channel's family (docs/accounts.md).
SELECT a.channel_id, c.type AS channel_type, count(*) AS accounts
FROM accounts a JOIN channels c ON c.id = a.channel_id
WHERE a.contributor_user_id = @user_id AND a.owner_user_id IS NULL AND a.api_key_id IS NULL
  AND a.status IN ('active', 'cooling')
GROUP BY a.channel_id, c.type
ORDER BY a.channel_id;

-- name: SharedQuotaChannels :many
-- SharedQuotaChannels lists the active channels with shared accounts: their families are the
-- ones a user's shared quota is shown for.
SELECT DISTINCT c.id, c.type
FROM channels c JOIN accounts a ON a.channel_id = c.id
WHERE c.status = 'active' AND a.owner_user_id IS NULL AND a.api_key_id IS NULL
ORDER BY c.id;
