-- name: SettingList :many
SELECT * FROM settings ORDER BY key;

-- name: SettingUpsert :exec
INSERT INTO settings (key, value, updated_at) VALUES (@key, @value, now())
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now();
