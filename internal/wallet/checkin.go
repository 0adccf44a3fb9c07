package wallet

import (
	"context"
	"crypto/rand"
	"math/big"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/store"
)

// Today is the calendar day of now in the site's time zone, as midnight UTC of that date.
func Today(v *settings.Values, now time.Time) time.Time {
	y, m, d := now.In(v.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Reward draws a reward uniformly from [lo, hi] (lo when hi ≤ lo).
func Reward(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	n, err := rand.Int(rand.Reader, big.NewInt(hi-lo+1))
	if err != nil {
		return lo
	}
	return lo + n.Int64()
}

// CheckedIn is the outcome of a check-in.
type CheckedIn struct {
	Day     time.Time
	Reward  int64
	Balance int64
}

// CheckIn records today's check-in and credits its reward in one transaction; the (user, day)
// key and the wallet key check_in:<user>:<day> make a second one the same day credit nothing.
func CheckIn(ctx context.Context, pool *pgxpool.Pool, q *db.Queries, v *settings.Values, userID int64, now time.Time) (CheckedIn, error) {
	if !v.CheckInEnabled {
		return CheckedIn{}, fault.Code(fault.Forbidden, "check_in_disabled", "check-in is not enabled")
	}
	day := Today(v, now)
	out := CheckedIn{Day: day, Reward: Reward(v.CheckInMinReward, v.CheckInMaxReward)}
	err := store.WithTx(ctx, pool, func(tx pgx.Tx) error {
		n, err := q.CheckInInsert(ctx, tx, db.CheckInInsertParams{UserID: userID, Day: pgtype.Date{Time: day, Valid: true},
			Reward: out.Reward})
		if err != nil {
			return store.Translate(err, "")
		}
		if n == 0 {
			return fault.Code(fault.Conflict, "check_in_done", "you have checked in today already")
		}
		bal, applied, err := Apply(ctx, q, tx, Change{UserID: userID, Kind: KindCheckIn, Amount: out.Reward,
			Key: "check_in:" + strconv.FormatInt(userID, 10) + ":" + day.Format(time.DateOnly)})
		if err != nil {
			return store.Translate(err, "")
		}
		if !applied {
			return fault.Code(fault.Conflict, "check_in_done", "you have checked in today already")
		}
		out.Balance = bal
		return nil
	})
	return out, err
}
