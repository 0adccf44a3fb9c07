package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/store"
)

const deliveryNotFound = "hook delivery not found"

// HookDeliveryList returns a page of the notify outbox, newest first, optionally by status. The
// sealed payloads (caller token, messages) are never read.
func (h *Handler) HookDeliveryList(ctx context.Context, req adminapi.HookDeliveryListRequestObject) (adminapi.HookDeliveryListResponseObject, error) {
	q := req.Params
	pg, ps, off, lim := page(q.Page, q.PageSize)
	var status *string
	if q.Status != nil {
		if !q.Status.Valid() {
			return nil, fault.Code(fault.Invalid, "invalid_status", "status must be pending, delivered or dead")
		}
		s := string(*q.Status)
		status = &s
	}
	total, err := h.Queries.HookOutboxListCount(ctx, h.Pool, status)
	if err != nil {
		return nil, err
	}
	rows, err := h.Queries.HookOutboxList(ctx, h.Pool, db.HookOutboxListParams{Status: status, Off: off, Lim: lim})
	if err != nil {
		return nil, err
	}
	out := adminapi.HookDeliveryList200JSONResponse{Items: make([]adminapi.HookDelivery, 0, len(rows)), Total: total, Page: pg, PageSize: ps}
	for _, r := range rows {
		out.Items = append(out.Items, hookDeliveryOut(r))
	}
	return out, nil
}

// HookDeliveryRetry puts a dead delivery back in the queue, due now, for another retry window.
func (h *Handler) HookDeliveryRetry(ctx context.Context, req adminapi.HookDeliveryRetryRequestObject) (adminapi.HookDeliveryRetryResponseObject, error) {
	r, err := h.Queries.HookOutboxRequeue(ctx, h.Pool, req.Id)
	if err == nil {
		if h.Hooks != nil {
			h.Hooks.Wake()
		}
		return adminapi.HookDeliveryRetry200JSONResponse(hookDeliveryOut((*db.HookOutboxListRow)(r))), nil
	}
	if err = store.Translate(err, deliveryNotFound); !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	if _, gerr := h.Queries.HookOutboxGet(ctx, h.Pool, req.Id); gerr != nil {
		return nil, store.Translate(gerr, deliveryNotFound)
	}
	return nil, fault.Code(fault.Conflict, "delivery_not_dead", "only dead deliveries can be retried")
}

func hookDeliveryOut(r *db.HookOutboxListRow) adminapi.HookDelivery {
	return adminapi.HookDelivery{Id: r.ID, Kind: adminapi.HookDeliveryKind(r.Kind), Status: adminapi.HookDeliveryStatus(r.Status),
		Host: hook.HostOf(r.URL), Attempts: r.Attempts, LastError: hook.SanitizeError(r.LastError), NextAt: r.NextAt,
		DeliveredAt: wire.Null(r.DeliveredAt), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
