package user

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/oapi-codegen/nullable"
	openapi_types "github.com/oapi-codegen/runtime/types"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/plans"
	"github.com/poolgate/poolgate/internal/store"
	"github.com/poolgate/poolgate/internal/wallet"
)

// RedeemCreate redeems a code for the signed-in user; the gateway's cached balance of the user
// is dropped on every instance.
func (h *Handler) RedeemCreate(ctx context.Context, req userapi.RedeemCreateRequestObject) (userapi.RedeemCreateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	r, err := wallet.Redeem(ctx, h.Pool, h.Queries, p.UserID, req.Body.Code, plans.CodeGranter(h.Queries))
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(p.UserID, 10))
	out := userapi.RedeemCreate200JSONResponse{Quota: r.Quota, Balance: r.Balance}
	if r.Subscription != nil {
		s := wire.Subscription(r.Subscription)
		out.Subscription = &s
	}
	return out, nil
}

// CheckInStatusGet answers today's check-in state and the totals.
func (h *Handler) CheckInStatusGet(ctx context.Context, _ userapi.CheckInStatusGetRequestObject) (userapi.CheckInStatusGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	v := h.Settings.Get()
	day := wallet.Today(v, time.Now())
	out := userapi.CheckInStatusGet200JSONResponse{Enabled: v.CheckInEnabled, Today: openapi_types.Date{Time: day},
		MinReward: v.CheckInMinReward, MaxReward: v.CheckInMaxReward, RewardToday: nullable.NewNullNullable[int64]()}
	c, err := h.Queries.CheckInGet(ctx, h.Pool, db.CheckInGetParams{UserID: p.UserID, Day: pgtype.Date{Time: day, Valid: true}})
	switch {
	case err == nil:
		out.CheckedInToday = true
		out.RewardToday.Set(c.Reward)
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, store.Translate(err, "")
	}
	tot, err := h.Queries.CheckInTotal(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out.Days, out.Total = tot.Days, tot.Total
	return out, nil
}

// CheckInRecordList lists the user's check-ins, newest first.
func (h *Handler) CheckInRecordList(ctx context.Context, req userapi.CheckInRecordListRequestObject) (userapi.CheckInRecordListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	lim := int32(31)
	if req.Params.Limit != nil {
		lim = int32(*req.Params.Limit) //nolint:gosec // the contract bounds it to 366
	}
	rows, err := h.Queries.CheckInList(ctx, h.Pool, db.CheckInListParams{UserID: p.UserID, Lim: lim})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := userapi.CheckInRecordList200JSONResponse{Items: make([]userapi.CheckInRecord, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, userapi.CheckInRecord{Day: openapi_types.Date{Time: r.Day.Time}, Reward: r.Reward,
			CreatedAt: r.CreatedAt})
	}
	return out, nil
}

// CheckInCreate checks the user in for today.
func (h *Handler) CheckInCreate(ctx context.Context, _ userapi.CheckInCreateRequestObject) (userapi.CheckInCreateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	c, err := wallet.CheckIn(ctx, h.Pool, h.Queries, h.Settings.Get(), p.UserID, time.Now())
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(p.UserID, 10))
	return userapi.CheckInCreate200JSONResponse{Day: openapi_types.Date{Time: c.Day}, Reward: c.Reward, Balance: c.Balance}, nil
}
