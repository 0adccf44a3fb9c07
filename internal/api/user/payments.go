package user

import (
	"context"
	"net/url"
	"sort"
	"time"

	"github.com/oapi-codegen/nullable"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/payment"
	"github.com/poolgate/poolgate/internal/store"
)

// PaymentConfigGet answers the enabled payment methods and the top-up rules.
func (h *Handler) PaymentConfigGet(ctx context.Context, _ userapi.PaymentConfigGetRequestObject) (userapi.PaymentConfigGetResponseObject, error) {
	if _, err := me(ctx); err != nil {
		return nil, err
	}
	v := h.Settings.Get()
	out := userapi.PaymentConfigGet200JSONResponse{Methods: []userapi.PaymentMethodTypes{}, MinAmount: v.PaymentMinAmount,
		QuotaPerUnit: v.QuotaPerUnit, OrderExpiryMinutes: v.PaymentOrderExpiryMinutes}
	methods := h.Payments.Methods()
	names := make([]string, 0, len(methods))
	for m := range methods {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		out.Methods = append(out.Methods, userapi.PaymentMethodTypes{Method: userapi.PaymentMethod(m), PayTypes: methods[m]})
	}
	return out, nil
}

// PaymentOrderCreate opens a top-up order and says where to pay it.
func (h *Handler) PaymentOrderCreate(ctx context.Context, req userapi.PaymentOrderCreateRequestObject) (userapi.PaymentOrderCreateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	n := payment.NewOrder{UserID: p.UserID, PlanID: b.PlanId, Method: string(b.Method)}
	if b.Amount != nil {
		n.Amount = *b.Amount
	}
	if b.PayType != nil {
		n.PayType = *b.PayType
	}
	o, payURL, err := h.Payments.Create(ctx, n)
	if err != nil {
		return nil, err
	}
	out := orderOut(o, time.Now())
	out.PayUrl.Set(payURL)
	return userapi.PaymentOrderCreate201JSONResponse(out), nil
}

// PaymentOrderUserList lists the user's orders, newest first.
func (h *Handler) PaymentOrderUserList(ctx context.Context, req userapi.PaymentOrderUserListRequestObject) (userapi.PaymentOrderUserListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	page, size := 1, 20
	if req.Params.Page != nil {
		page = *req.Params.Page
	}
	if req.Params.PageSize != nil {
		size = *req.Params.PageSize
	}
	rows, err := h.Queries.PaymentOrderListByUser(ctx, h.Pool, db.PaymentOrderListByUserParams{UserID: p.UserID,
		Off: int32((page - 1) * size), Lim: int32(size)}) //nolint:gosec // the contract bounds page and page_size
	if err != nil {
		return nil, store.Translate(err, "")
	}
	total, err := h.Queries.PaymentOrderCountByUser(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	now := time.Now()
	out := userapi.PaymentOrderUserList200JSONResponse{Items: make([]userapi.PaymentOrder, 0, len(rows)), Total: total, Page: page, PageSize: size}
	for _, o := range rows {
		out.Items = append(out.Items, h.orderWithURL(o, now))
	}
	return out, nil
}

// PaymentOrderUserGet answers one of the user's orders.
func (h *Handler) PaymentOrderUserGet(ctx context.Context, req userapi.PaymentOrderUserGetRequestObject) (userapi.PaymentOrderUserGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	o, err := h.Queries.PaymentOrderGetForUser(ctx, h.Pool, db.PaymentOrderGetForUserParams{OrderNo: req.OrderNo, UserID: p.UserID})
	if err != nil {
		return nil, store.Translate(err, "order not found")
	}
	return userapi.PaymentOrderUserGet200JSONResponse(h.orderWithURL(o, time.Now())), nil
}

// orderWithURL is an order on the wire with where to pay it while it is pending.
func (h *Handler) orderWithURL(o *db.PaymentOrder, now time.Time) userapi.PaymentOrder {
	out := orderOut(o, now)
	if string(out.Status) == payment.StatusPending {
		if u, err := h.Payments.PayURL(o); err == nil {
			out.PayUrl.Set(u)
		}
	}
	return out
}

func orderOut(o *db.PaymentOrder, now time.Time) userapi.PaymentOrder {
	return userapi.PaymentOrder{OrderNo: o.OrderNo, Method: userapi.PaymentMethod(o.Method), PayType: o.PayType,
		Amount: payment.FormatMoney(o.Amount), Quota: o.Quota, PlanId: wire.Null(o.PlanID),
		Status: userapi.PaymentOrderStatus(payment.Status(o, now)), ExpiresAt: o.ExpiresAt, PaidAt: wire.Null(o.PaidAt), CreatedAt: o.CreatedAt, PayUrl: nullable.NewNullNullable[string]()}
}

// ReferralGet answers the user's referral code, link, invitees and earnings.
func (h *Handler) ReferralGet(ctx context.Context, _ userapi.ReferralGetRequestObject) (userapi.ReferralGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	sum, err := h.Queries.ReferralSummary(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	rows, err := h.Queries.ReferralInviteeList(ctx, h.Pool, db.ReferralInviteeListParams{UserID: p.UserID, Lim: 50})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := userapi.ReferralGet200JSONResponse{Code: u.ReferralCode, Link: h.Payments.PublicURL + "/app?aff=" + url.QueryEscape(u.ReferralCode),
		Invitees: sum.Invitees, Earned: sum.Earned, CommissionPermille: h.Settings.Get().ReferralCommissionPermille,
		Recent: make([]userapi.ReferralInvitee, 0, len(rows))}
	for _, r := range rows {
		out.Recent = append(out.Recent, userapi.ReferralInvitee{Username: r.Username, Earned: r.Earned, CreatedAt: r.CreatedAt})
	}
	return out, nil
}
