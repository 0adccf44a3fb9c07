package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/store"
)

// LogList returns a page of usage logs, newest first, filtered by user and model.
func (h *Handler) LogList(ctx context.Context, req adminapi.LogListRequestObject) (adminapi.LogListResponseObject, error) {
	q := req.Params
	pg, ps, off, lim := page(q.Page, q.PageSize)
	total, err := h.Queries.UsageLogCount(ctx, h.Pool, db.UsageLogCountParams{UserID: q.UserId, Model: q.Model})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	rows, err := h.Queries.UsageLogList(ctx, h.Pool, db.UsageLogListParams{UserID: q.UserId, Model: q.Model,
		Off: off, Lim: lim})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.LogList200JSONResponse{Items: make([]adminapi.UsageLog, 0, len(rows)), Total: total, Page: pg, PageSize: ps}
	for _, l := range rows {
		out.Items = append(out.Items, usageLogOut(l))
	}
	return out, nil
}
