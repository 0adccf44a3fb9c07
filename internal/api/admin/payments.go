package admin

import (
	"context"
	"encoding/json"
	"time"

	adminapi "github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/payment"
	"github.com/poolgate/poolgate/internal/store"
)

// pageOf reads the page parameters (defaults 1 and 20).
func pageOf(page, size *int) (int, int) {
	p, s := 1, 20
	if page != nil {
		p = *page
	}
	if size != nil {
		s = *size
	}
	return p, s
}

// PaymentOrderList lists every user's orders, newest first.
func (h *Handler) PaymentOrderList(ctx context.Context, req adminapi.PaymentOrderListRequestObject) (adminapi.PaymentOrderListResponseObject, error) {
	page, size := pageOf(req.Params.Page, req.Params.PageSize)
	now := time.Now()
	status := req.Params.Status
	rows, err := h.Queries.PaymentOrderList(ctx, h.Pool, db.PaymentOrderListParams{UserID: req.Params.UserId, Status: status, Now: now,
		Off: int32((page - 1) * size), Lim: int32(size)}) //nolint:gosec // the contract bounds page and page_size
	if err != nil {
		return nil, store.Translate(err, "")
	}
	total, err := h.Queries.PaymentOrderCount(ctx, h.Pool, db.PaymentOrderCountParams{UserID: req.Params.UserId, Status: status, Now: now})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.PaymentOrderList200JSONResponse{Items: make([]adminapi.PaymentOrderAdmin, 0, len(rows)), Total: total, Page: page, PageSize: size}
	for _, r := range rows {
		o := db.PaymentOrder{Status: r.Status, ExpiresAt: r.ExpiresAt}
		out.Items = append(out.Items, adminapi.PaymentOrderAdmin{OrderNo: r.OrderNo, UserId: r.UserID, Username: r.Username,
			Method: adminapi.PaymentOrderAdminMethod(r.Method), PayType: r.PayType, Amount: payment.FormatMoney(r.Amount), Quota: r.Quota,
			PlanId: wire.Null(r.PlanID), Status: payment.Status(&o, now), TradeNo: r.TradeNo,
			ExpiresAt: r.ExpiresAt, PaidAt: wire.Null(r.PaidAt), CreatedAt: r.CreatedAt})
	}
	return out, nil
}

// PaymentNotifyList lists the recorded notifies, newest first.
func (h *Handler) PaymentNotifyList(ctx context.Context, req adminapi.PaymentNotifyListRequestObject) (adminapi.PaymentNotifyListResponseObject, error) {
	lim := int32(100)
	if req.Params.Limit != nil {
		lim = int32(*req.Params.Limit) //nolint:gosec // the contract bounds it to 500
	}
	rows, err := h.Queries.PaymentNotifyList(ctx, h.Pool, db.PaymentNotifyListParams{OrderNo: req.Params.OrderNo, Lim: lim})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.PaymentNotifyList200JSONResponse{Items: make([]adminapi.PaymentNotify, 0, len(rows))}
	for _, r := range rows {
		params := map[string]string{}
		_ = json.Unmarshal(r.Params, &params)
		out.Items = append(out.Items, adminapi.PaymentNotify{Id: r.ID, Method: r.Method, OrderNo: r.OrderNo, TradeNo: r.TradeNo,
			Params: params, Result: r.Result, RemoteAddr: r.RemoteAddr, CreatedAt: r.CreatedAt})
	}
	return out, nil
}

// ReferralCommissionList lists the commissions credited to inviters, newest first.
func (h *Handler) ReferralCommissionList(ctx context.Context, req adminapi.ReferralCommissionListRequestObject) (adminapi.ReferralCommissionListResponseObject, error) {
	page, size := pageOf(req.Params.Page, req.Params.PageSize)
	rows, err := h.Queries.ReferralCommissionList(ctx, h.Pool, db.ReferralCommissionListParams{InviterID: req.Params.InviterId,
		Off: int32((page - 1) * size), Lim: int32(size)}) //nolint:gosec // the contract bounds page and page_size
	if err != nil {
		return nil, store.Translate(err, "")
	}
	total, err := h.Queries.ReferralCommissionCount(ctx, h.Pool, req.Params.InviterId)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.ReferralCommissionList200JSONResponse{Items: make([]adminapi.ReferralCommission, 0, len(rows)), Total: total, Page: page, PageSize: size}
	for _, r := range rows {
		out.Items = append(out.Items, adminapi.ReferralCommission{Id: r.ID, InviterId: r.InviterID, InviterUsername: r.InviterUsername,
			InviteeId: r.InviteeID, InviteeUsername: r.InviteeUsername, OrderNo: r.OrderNo, Amount: r.Amount, Permille: int(r.Permille),
			CreatedAt: r.CreatedAt})
	}
	return out, nil
}
