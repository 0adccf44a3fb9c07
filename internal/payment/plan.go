package payment

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/plans"
	"github.com/poolgate/poolgate/internal/store"
)

// planPrice is what an order for the plan costs the user (cents): the plan's price. A missing
// plan is 404; a disabled one is not on sale (422 payment_plan_unavailable), a free one cannot be
// paid for (422 payment_plan_free), and one of a lower tier than the user's running plan would be
// refused at payment (409, as plans.Grant refuses a downgrade).
func (s *Service) planPrice(ctx context.Context, userID, planID int64) (int64, error) {
	p, err := s.Queries.PlanGet(ctx, s.Pool, planID)
	if err != nil {
		return 0, store.Translate(err, "plan not found")
	}
	switch {
	case !p.Enabled:
		return 0, fault.Code(fault.Unprocessable, "payment_plan_unavailable", "the plan "+p.Name+" is not on sale")
	case p.Price <= 0:
		return 0, fault.Code(fault.Unprocessable, "payment_plan_free", "the plan "+p.Name+" has no price")
	}
	u, err := s.Queries.UserGet(ctx, s.Pool, userID)
	if err != nil {
		return 0, store.Translate(err, "user not found")
	}
	if u.PlanExpiresAt != nil && u.PlanExpiresAt.After(s.now()) && plans.Rank(u.Tier) > plans.Rank(p.Tier) {
		return 0, plans.ErrDowngrade
	}
	return p.Price, nil
}

// grantPlan grants a paid plan order's plan inside the order's transaction (source payment,
// reference the order number: once per order). It reports false, granting nothing, when the plan
// cannot be given any more: it was deleted, or it would be a downgrade because a higher tier
// started after the order was opened.
func (s *Service) grantPlan(ctx context.Context, tx pgx.Tx, o *db.PaymentOrder, now time.Time) (bool, error) {
	if _, err := s.Queries.PlanGet(ctx, tx, *o.PlanID); store.IsNotFound(err) {
		if s.Log != nil {
			s.Log.WarnContext(ctx, "paid plan order credited as a top-up: the plan was deleted", "order_no", o.OrderNo)
		}
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, _, err := plans.Grant(ctx, tx, s.Queries, o.UserID, *o.PlanID, plans.Source{Kind: plans.SourcePayment, Ref: o.OrderNo}, now)
	if errors.Is(err, plans.ErrDowngrade) {
		if s.Log != nil {
			s.Log.WarnContext(ctx, "paid plan order credited as a top-up: a higher tier is running", "order_no", o.OrderNo)
		}
		return false, nil
	}
	return err == nil, err
}
