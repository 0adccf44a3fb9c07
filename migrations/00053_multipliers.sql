-- +goose Up
-- Price multipliers beyond the group's (issue 13, docs/money.md § Multipliers). Each is in
-- thousandths (1000 = ×1). A charge is the call's cost × the group's multiplier × the channel ×
-- group multiplier × the channel-model × group multiplier × the user × channel multiplier, the
-- product taken exactly and rounded up once; a missing row counts as ×1.
CREATE TABLE channel_group_multipliers (
    channel_id          bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    group_id            bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    multiplier_permille integer NOT NULL CHECK (multiplier_permille BETWEEN 0 AND 1000000),
    PRIMARY KEY (channel_id, group_id)
);

CREATE TABLE channel_model_group_multipliers (
    channel_model_id    bigint NOT NULL REFERENCES channel_models (id) ON DELETE CASCADE,
    group_id            bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    multiplier_permille integer NOT NULL CHECK (multiplier_permille BETWEEN 0 AND 1000000),
    PRIMARY KEY (channel_model_id, group_id)
);

CREATE TABLE user_channel_multipliers (
    user_id             bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id          bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    multiplier_permille integer NOT NULL CHECK (multiplier_permille BETWEEN 0 AND 1000000),
    PRIMARY KEY (user_id, channel_id)
);

-- +goose Down
DROP TABLE user_channel_multipliers;
DROP TABLE channel_model_group_multipliers;
DROP TABLE channel_group_multipliers;
