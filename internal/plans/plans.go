// Package plans grants subscription plans (docs/money.md § Plans): a plan gives a tier for a
// number of days, quota once, and the limit rules that name it. A grant comes from a redemption
// code, an administrator or a payment; each is recorded once per idempotency key.
package plans

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
	"github.com/poolgate/poolgate/internal/wallet"
)

// Sources of a grant (subscriptions.source).
const (
	SourceAdmin   = "admin"
	SourceCode    = "code"
	SourcePayment = "payment"
)

// Kinds of grant (subscriptions.kind).
const (
	KindNew     = "new"     // no plan was running: starts now
	KindRenewal = "renewal" // a plan of the same tier was running: its expiry moves out
	KindUpgrade = "upgrade" // a lower tier was running: the new tier applies at once
)

// Source is where a grant comes from: Kind is one of the Source constants, Ref what makes it
// unique within that kind (an order number, a code id and user, an administrator's request id).
// The same Source grants at most once.
type Source struct {
	Kind string
	Ref  string
}

func (s Source) key() string { return "plan:" + s.Kind + ":" + s.Ref }

// Rank orders tiers: free < pro < ultra.
func Rank(tier string) int {
	switch tier {
	case "ultra":
		return 3
	case "pro":
		return 2
	}
	return 1
}

// walletKind is the wallet transaction kind a grant's quota is credited under.
func walletKind(source string) string {
	switch source {
	case SourceCode:
		return wallet.KindRedeem
	case SourcePayment:
		return wallet.KindTopUp
	}
	return wallet.KindAdmin
}

// ErrDowngrade is refused: a plan of a lower tier than the one running would take the higher tier
// away before the time paid for ends.
var ErrDowngrade = fault.New(fault.Conflict,
	"a plan of a higher tier is running; a lower tier can be granted once it has expired")

// Grant gives user the plan inside tx, at now:
//   - no plan running (none, or expired): the plan's tier from now for duration_days (new);
//   - the same tier running: its expiry moves out by duration_days (renewal; the plan becomes the
//     user's plan);
//   - a lower tier running: the new tier from now for duration_days (upgrade, at once);
//   - a higher tier running: refused (ErrDowngrade).
//
// The plan's quota is credited to the balance in the same transaction. A Source that has granted
// before grants nothing and returns the first grant's subscription with applied false. A disabled
// plan can still be granted (an administrator or an order placed before it was disabled). After
// the transaction commits, call Changed so every instance rereads the user.
func Grant(ctx context.Context, tx pgx.Tx, q *db.Queries, userID, planID int64, src Source, now time.Time) (sub *db.Subscription, applied bool, err error) {
	switch src.Kind {
	case SourceAdmin, SourceCode, SourcePayment:
	default:
		return nil, false, fault.New(fault.Invalid, "plan grant: unknown source "+strconv.Quote(src.Kind))
	}
	if src.Ref == "" {
		return nil, false, fault.New(fault.Invalid, "plan grant: empty source reference")
	}
	// The user's row first: grants to one user queue here, so the lookup below sees any grant of
	// the same source that committed while this one waited.
	u, err := q.PlanUserLock(ctx, tx, userID)
	if err != nil {
		return nil, false, store.Translate(err, "user not found")
	}
	if prev, err := q.SubscriptionByKey(ctx, tx, src.key()); err == nil {
		return prev, false, nil
	} else if !store.IsNotFound(err) {
		return nil, false, err
	}
	p, err := q.PlanGet(ctx, tx, planID)
	if err != nil {
		return nil, false, store.Translate(err, "plan not found")
	}
	days := time.Duration(p.DurationDays) * 24 * time.Hour
	kind, starts, expires := KindNew, now, now.Add(days)
	if u.PlanExpiresAt != nil && u.PlanExpiresAt.After(now) {
		switch cur, next := Rank(u.Tier), Rank(p.Tier); {
		case next == cur:
			kind, starts, expires = KindRenewal, *u.PlanExpiresAt, u.PlanExpiresAt.Add(days)
		case next > cur:
			kind = KindUpgrade
		default:
			return nil, false, ErrDowngrade
		}
	}
	sub, err = q.SubscriptionInsert(ctx, tx, db.SubscriptionInsertParams{UserID: userID, PlanID: &p.ID, PlanName: p.Name,
		Tier: p.Tier, Source: src.Kind, Kind: kind, StartsAt: starts, ExpiresAt: expires, Quota: p.Quota,
		IdempotencyKey: src.key()})
	if err != nil {
		return nil, false, store.Translate(err, "")
	}
	if err := q.PlanUserSet(ctx, tx, db.PlanUserSetParams{ID: userID, Tier: p.Tier, PlanID: &p.ID, PlanExpiresAt: &expires}); err != nil {
		return nil, false, err
	}
	if p.Quota > 0 {
		if _, _, err := wallet.Apply(ctx, q, tx, wallet.Change{UserID: userID, Kind: walletKind(src.Kind), Amount: p.Quota,
			Key: src.key(), Note: "plan " + p.Name}); err != nil {
			return nil, false, err
		}
	}
	return sub, true, nil
}

// Changed tells every instance to reread the user (tier, plan, expiry, balance): call it after the
// transaction that granted a plan has committed.
func Changed(ctx context.Context, b *bus.Bus, userID int64) {
	b.Publish(ctx, bus.TopicUser, strconv.FormatInt(userID, 10))
}

// CodeGranter grants a plan code's plan (wallet.Redeem's PlanGranter): a code grants once per
// code and user.
func CodeGranter(q *db.Queries) func(ctx context.Context, tx pgx.Tx, userID, planID int64, ref string) (*db.Subscription, error) {
	return func(ctx context.Context, tx pgx.Tx, userID, planID int64, ref string) (*db.Subscription, error) {
		sub, _, err := Grant(ctx, tx, q, userID, planID, Source{Kind: SourceCode, Ref: ref}, time.Now())
		return sub, err
	}
}
