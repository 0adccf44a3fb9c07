-- +goose Up
-- Account events (ACCOUNT_EVENT_URL: an OAuth account needing re-authorization) are delivered
-- through the hook outbox like notifications.
ALTER TABLE hook_outbox DROP CONSTRAINT hook_outbox_kind_check;
ALTER TABLE hook_outbox ADD CONSTRAINT hook_outbox_kind_check CHECK (kind IN ('notify', 'share_finish', 'account_event'));

-- +goose Down
DELETE FROM hook_outbox WHERE kind = 'account_event';
ALTER TABLE hook_outbox DROP CONSTRAINT hook_outbox_kind_check;
ALTER TABLE hook_outbox ADD CONSTRAINT hook_outbox_kind_check CHECK (kind IN ('notify', 'share_finish'));
