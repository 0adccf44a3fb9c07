-- +goose Up
-- Daily check-in (issue 13): one row per user and calendar day of the site's time zone; the
-- primary key makes a second check-in the same day (however concurrent) insert nothing.
CREATE TABLE check_ins (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day        date NOT NULL,
    reward     bigint NOT NULL CHECK (reward >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);

-- +goose Down
DROP TABLE check_ins;
