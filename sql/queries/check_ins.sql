-- name: CheckInInsert :execrows
-- CheckInInsert records a day's check-in; zero rows: the user checked in that day already.
INSERT INTO check_ins (user_id, day, reward) VALUES (@user_id, @day, @reward)
ON CONFLICT DO NOTHING;

-- name: CheckInGet :one
SELECT * FROM check_ins WHERE user_id = @user_id AND day = @day;

-- name: CheckInList :many
SELECT * FROM check_ins WHERE user_id = @user_id ORDER BY day DESC LIMIT @lim;

-- name: CheckInTotal :one
SELECT count(*)::bigint AS days, coalesce(sum(reward), 0)::bigint AS total FROM check_ins WHERE user_id = @user_id;
