-- +goose Up
-- Usage rows are written in batches of hundreds per statement, and a foreign key checks each row
-- on its own: a lookup and a row lock per row, about a fifth of what PostgreSQL spends on a
-- usage row. The usage statement (UsageSettle) checks its batch's users once each instead, with
-- the same lock, and skips the records of a user that no longer exists. Poolgate never deletes a
-- user row (deleting a user is a soft delete: their history stays), so the key's cascade had
-- nothing to do.
ALTER TABLE usage_logs DROP CONSTRAINT usage_logs_user_id_fkey;

-- +goose Down
DELETE FROM usage_logs l WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = l.user_id);
ALTER TABLE usage_logs ADD CONSTRAINT usage_logs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
