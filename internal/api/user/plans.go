package user

import (
	"context"
	"time"

	"github.com/poolgate/poolgate/gen/api/common"
	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/relay"
)

// historySize is how many grants /api/user/subscription lists.
const historySize = 20

// PlanUserList lists the plans on offer.
func (h *Handler) PlanUserList(ctx context.Context, _ userapi.PlanUserListRequestObject) (userapi.PlanUserListResponseObject, error) {
	rows, err := h.Queries.PlanListEnabled(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	rules, err := h.Queries.PlanLimitList(ctx, h.Pool, wire.PlanIDs(rows))
	if err != nil {
		return nil, err
	}
	return userapi.PlanUserList200JSONResponse{Items: wire.Plans(rows, rules)}, nil
}

// SubscriptionUserGet answers the signed-in user's plan and latest grants.
func (h *Handler) SubscriptionUserGet(ctx context.Context, _ userapi.SubscriptionUserGetRequestObject) (userapi.SubscriptionUserGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := h.Queries.SubscriptionCurrent(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, err
	}
	subs, err := h.Queries.SubscriptionList(ctx, h.Pool, db.SubscriptionListParams{UserID: p.UserID, Lim: historySize})
	if err != nil {
		return nil, err
	}
	active := cur.PlanExpiresAt != nil && cur.PlanExpiresAt.After(time.Now())
	tier := cur.Tier
	if cur.PlanExpiresAt != nil && !active {
		tier = "free"
	}
	out := userapi.SubscriptionUserGet200JSONResponse{Active: active, Tier: commonapi.PlanTier(tier), PlanId: wire.Null(cur.PlanID),
		PlanName: wire.Null(cur.PlanName), ExpiresAt: wire.Null(cur.PlanExpiresAt), History: make([]commonapi.Subscription, 0, len(subs))}
	for _, s := range subs {
		out.History = append(out.History, wire.Subscription(s))
	}
	return out, nil
}

// CatalogUserGet lists the models the signed-in user can call with their effective prices.
func (h *Handler) CatalogUserGet(ctx context.Context, _ userapi.CatalogUserGetRequestObject) (userapi.CatalogUserGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	group, models, err := h.Relay.Catalog(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := userapi.CatalogUserGet200JSONResponse{GroupMultiplierPermille: int(group), Items: make([]userapi.CatalogModel, 0, len(models))}
	for _, m := range models {
		out.Items = append(out.Items, userapi.CatalogModel{Name: m.Name, MultiplierPermille: m.Multiplier,
			Price: wire.ModelPrice(m.Name, m.Price), Effective: wire.ModelPrice(m.Name, relay.Apply(m.Price, m.Multiplier))})
	}
	return out, nil
}
