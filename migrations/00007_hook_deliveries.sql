-- +goose Up
-- Delivered hook requests are kept (metadata only: the sealed payload is emptied) for the admin
-- view of the outbox, and removed after 7 days. retry_from starts the 24-hour retry window: the
-- row's creation, or when an administrator retried a dead row.
ALTER TABLE hook_outbox DROP CONSTRAINT hook_outbox_status_check;
ALTER TABLE hook_outbox ADD CONSTRAINT hook_outbox_status_check CHECK (status IN ('pending', 'delivered', 'dead'));
ALTER TABLE hook_outbox
    ADD COLUMN delivered_at timestamptz,
    ADD COLUMN retry_from   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();
UPDATE hook_outbox SET retry_from = created_at, updated_at = created_at;
CREATE INDEX hook_outbox_status_id_idx ON hook_outbox (status, id);
CREATE INDEX hook_outbox_delivered_idx ON hook_outbox (delivered_at) WHERE status = 'delivered';

-- +goose Down
DELETE FROM hook_outbox WHERE status = 'delivered';
DROP INDEX hook_outbox_delivered_idx;
DROP INDEX hook_outbox_status_id_idx;
ALTER TABLE hook_outbox DROP COLUMN updated_at, DROP COLUMN retry_from, DROP COLUMN delivered_at;
ALTER TABLE hook_outbox DROP CONSTRAINT hook_outbox_status_check;
ALTER TABLE hook_outbox ADD CONSTRAINT hook_outbox_status_check CHECK (status IN ('pending', 'dead'));
