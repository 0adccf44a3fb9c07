-- +goose Up
-- Operator and user surfaces (issue 15): channel models with model mapping, announcements, API key
-- restrictions, soft-deleted users, and the usage-log columns the logs and stats need.

-- A channel model is one model a channel serves: `name` is what callers ask for, `upstream_name`
-- what is sent upstream (equal when not mapped). channels.models stays the list of served names
-- (routing reads it); triggers keep the two in step whichever side is written, so the channel
-- API (`models` array) and the channel-model API always agree.
CREATE TABLE channel_models (
    id            bigserial PRIMARY KEY,
    channel_id    bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    upstream_name text NOT NULL CHECK (length(upstream_name) BETWEEN 1 AND 128),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, name)
);

INSERT INTO channel_models (channel_id, name, upstream_name)
SELECT c.id, m.name, m.name
FROM channels c CROSS JOIN LATERAL unnest(c.models) AS m (name)
ON CONFLICT DO NOTHING;

-- +goose StatementBegin
-- channels.models written directly (channel create/update, model sync): add rows for new names
-- (unmapped), drop rows of names no longer served. Skipped when fired by the trigger below.
CREATE FUNCTION channel_models_from_channel() RETURNS trigger AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    DELETE FROM channel_models cm
    WHERE cm.channel_id = NEW.id AND NOT (cm.name = ANY (NEW.models));
    INSERT INTO channel_models (channel_id, name, upstream_name)
    SELECT NEW.id, m.name, m.name FROM unnest(NEW.models) AS m (name)
    ON CONFLICT (channel_id, name) DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER channels_models_sync
    AFTER INSERT OR UPDATE OF models ON channels
    FOR EACH ROW EXECUTE FUNCTION channel_models_from_channel();

-- +goose StatementBegin
-- channel_models written directly (the channel-model API): channels.models becomes the rows'
-- names in creation order. Skipped when fired by the trigger above.
CREATE FUNCTION channel_models_to_channel() RETURNS trigger AS $$
DECLARE
    cid bigint;
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        cid := OLD.channel_id;
    ELSE
        cid := NEW.channel_id;
    END IF;
    UPDATE channels c SET
        models     = coalesce((SELECT array_agg(cm.name ORDER BY cm.id) FROM channel_models cm WHERE cm.channel_id = cid), '{}'),
        updated_at = now()
    WHERE c.id = cid;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER channel_models_sync
    AFTER INSERT OR UPDATE OR DELETE ON channel_models
    FOR EACH ROW EXECUTE FUNCTION channel_models_to_channel();

-- The usage log keeps both model names and the time to the first streamed byte.
ALTER TABLE usage_logs
    ADD COLUMN upstream_model text NOT NULL DEFAULT '',
    ADD COLUMN first_token_ms integer;
CREATE INDEX usage_logs_created_at_idx ON usage_logs (created_at);
CREATE INDEX usage_logs_api_key_id_idx ON usage_logs (api_key_id, id DESC) WHERE api_key_id IS NOT NULL;
CREATE INDEX usage_logs_channel_id_idx ON usage_logs (channel_id, id DESC) WHERE channel_id IS NOT NULL;

CREATE TABLE announcements (
    id         bigserial PRIMARY KEY,
    title      text NOT NULL,
    content    text NOT NULL,
    starts_at  timestamptz,
    ends_at    timestamptz,
    audience   text NOT NULL DEFAULT 'all' CHECK (audience IN ('all', 'users', 'admins')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
);

-- API key restrictions: all optional (null: no restriction). allowed_ips holds CIDR prefixes.
ALTER TABLE api_keys
    ADD COLUMN description    text NOT NULL DEFAULT '',
    ADD COLUMN allowed_models text[],
    ADD COLUMN quota_limit    bigint CHECK (quota_limit >= 0),
    ADD COLUMN expires_at     timestamptz,
    ADD COLUMN allowed_ips    cidr[];

-- A deleted user is kept (their usage history stays) but disabled and hidden from lists.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE api_keys
    DROP COLUMN allowed_ips,
    DROP COLUMN expires_at,
    DROP COLUMN quota_limit,
    DROP COLUMN allowed_models,
    DROP COLUMN description;
DROP TABLE announcements;
DROP INDEX usage_logs_channel_id_idx;
DROP INDEX usage_logs_api_key_id_idx;
DROP INDEX usage_logs_created_at_idx;
ALTER TABLE usage_logs DROP COLUMN first_token_ms, DROP COLUMN upstream_model;
DROP TRIGGER channel_models_sync ON channel_models;
DROP TRIGGER channels_models_sync ON channels;
DROP FUNCTION channel_models_to_channel();
DROP FUNCTION channel_models_from_channel();
DROP TABLE channel_models;
