package wallet

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// Code statuses (the API's RedemptionCodeStatus).
const (
	StatusActive   = "active"
	StatusUsed     = "used"
	StatusExpired  = "expired"
	StatusDisabled = "disabled"
)

// Redeem errors' codes.
const (
	codeInvalid  = "redemption_code_invalid"
	codeUsed     = "redemption_code_used"
	codeExpired  = "redemption_code_expired"
	codeDisabled = "redemption_code_disabled"
	codeRedeemed = "redemption_code_redeemed"
)

// NewCode makes a random code: "PGR-" and 24 base-32 characters (120 bits).
func NewCode() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return "PGR-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// Hint is how a code is shown in lists: its first eight characters.
func Hint(code string) string {
	if len(code) <= 8 {
		return code
	}
	return code[:8] + "…"
}

// Status is a code's state at now.
func Status(c *db.RedemptionCode, now time.Time) string {
	switch {
	case c.Disabled:
		return StatusDisabled
	case c.UsedCount >= c.MaxUses:
		return StatusUsed
	case c.ExpiresAt != nil && !c.ExpiresAt.After(now):
		return StatusExpired
	}
	return StatusActive
}

// Redeemed is the outcome of a redeem.
type Redeemed struct {
	Quota   int64
	Balance int64
	// Subscription is the plan a plan code granted (nil for a quota code).
	Subscription *db.Subscription
}

// PlanGranter grants a plan code's plan to a user inside the redeem's transaction, once per
// ref, and returns the grant and the quota it credited (plans.Grant with a code source).
type PlanGranter func(ctx context.Context, tx pgx.Tx, userID, planID int64, ref string) (*db.Subscription, error)

// Redeem credits code to the user in one transaction. The code's row is locked, so concurrent
// redeems of one code queue: it is used at most max_uses times and once per user. A plan code
// is granted through grant (a plan code is refused when grant is nil).
func Redeem(ctx context.Context, pool *pgxpool.Pool, q *db.Queries, userID int64, code string, grant PlanGranter) (Redeemed, error) {
	var out Redeemed
	err := store.WithTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		out, err = RedeemTx(ctx, tx, q, userID, code, grant)
		return err
	})
	if fault.Is(err, fault.NotFound) {
		return out, fault.Code(fault.NotFound, codeInvalid, "no such redemption code")
	}
	return out, err
}

// RedeemTx is Redeem inside the caller's transaction (a not-found error for an unknown code).
func RedeemTx(ctx context.Context, tx pgx.Tx, q *db.Queries, userID int64, code string, grant PlanGranter) (Redeemed, error) {
	var out Redeemed
	err := func() error {
		c, err := q.RedemptionCodeLock(ctx, tx, code)
		if err != nil {
			return store.Translate(err, "")
		}
		if f := refusal(c, time.Now()); f != nil {
			return f
		}
		n, err := q.RedemptionCodeUse(ctx, tx, db.RedemptionCodeUseParams{CodeID: c.ID, UserID: userID})
		if err != nil {
			return store.Translate(err, "")
		}
		if n == 0 {
			return fault.Code(fault.Conflict, codeRedeemed, "you have redeemed this code already")
		}
		if err := q.RedemptionCodeCountUse(ctx, tx, c.ID); err != nil {
			return store.Translate(err, "")
		}
		ref := strconv.FormatInt(c.ID, 10) + ":" + strconv.FormatInt(userID, 10)
		if c.PlanID != nil {
			if grant == nil {
				return fault.New(fault.Unprocessable, "this code grants a plan, which cannot be redeemed here")
			}
			sub, err := grant(ctx, tx, userID, *c.PlanID, ref)
			if err != nil {
				return err
			}
			bal, err := q.UserBalance(ctx, tx, userID)
			if err != nil {
				return store.Translate(err, "")
			}
			out = Redeemed{Quota: sub.Quota, Balance: bal, Subscription: sub}
			return nil
		}
		bal, applied, err := Apply(ctx, q, tx, Change{UserID: userID, Kind: KindRedeem, Amount: c.Quota,
			Key: "redeem:" + ref, Note: c.Name})
		if err != nil {
			return store.Translate(err, "")
		}
		if !applied { // unreachable: the use row above is the same once-per-user guard
			return fault.Code(fault.Conflict, codeRedeemed, "you have redeemed this code already")
		}
		out = Redeemed{Quota: c.Quota, Balance: bal}
		return nil
	}()
	return out, err
}

func refusal(c *db.RedemptionCode, now time.Time) error {
	switch Status(c, now) {
	case StatusDisabled:
		return fault.Code(fault.Conflict, codeDisabled, "this code is disabled")
	case StatusUsed:
		return fault.Code(fault.Conflict, codeUsed, "this code has been used up")
	case StatusExpired:
		return fault.Code(fault.Conflict, codeExpired, "this code has expired")
	}
	return nil
}
