package admin

import (
	"context"
	"net/http"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/usage"
)

func (h *Handler) usage() *usage.Reader { return &usage.Reader{DB: h.Pool, Queries: h.Queries} }

func classOf(c *adminapi.LogStatusClass) *string {
	if c == nil {
		return nil
	}
	s := string(*c)
	return &s
}

// LogList returns a page of usage logs, newest first, filtered by the parameters given.
func (h *Handler) LogList(ctx context.Context, req adminapi.LogListRequestObject) (adminapi.LogListResponseObject, error) {
	q := req.Params
	limit := 50
	if q.Limit != nil {
		limit = *q.Limit
	}
	p, err := h.usage().List(ctx, usage.Filter{UserID: q.UserId, APIKeyID: q.ApiKeyId, ChannelID: q.ChannelId,
		AccountID: q.AccountId, Model: q.Model, RequestID: q.RequestId, StatusClass: classOf(q.StatusClass),
		From: q.From, To: q.To}, q.Cursor, limit)
	if err != nil {
		return nil, err
	}
	return adminapi.LogList200JSONResponse(wire.UsageLogPage(p)), nil
}

// csvExport streams the export as the response body is written.
type csvExport struct {
	ctx    context.Context
	reader *usage.Reader
	filter usage.Filter
}

// VisitLogExportResponse writes the CSV. The status is sent before the rows are read, so a
// failure midway cuts the connection (the client sees an incomplete answer, never a truncated
// file that looks whole).
func (e csvExport) VisitLogExportResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/csv")
	w.Header().Set("Content-Disposition", `attachment; filename="usage-logs.csv"`)
	w.WriteHeader(http.StatusOK)
	if err := e.reader.WriteCSV(e.ctx, w, e.filter); err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}

// LogExport streams every matching usage log as CSV.
func (h *Handler) LogExport(ctx context.Context, req adminapi.LogExportRequestObject) (adminapi.LogExportResponseObject, error) {
	q := req.Params
	f := usage.Filter{UserID: q.UserId, APIKeyID: q.ApiKeyId, ChannelID: q.ChannelId, AccountID: q.AccountId,
		Model: q.Model, RequestID: q.RequestId, StatusClass: classOf(q.StatusClass), From: q.From, To: q.To}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return csvExport{ctx: ctx, reader: h.usage(), filter: f}, nil
}

// StatsGet aggregates usage over a time range by one dimension.
func (h *Handler) StatsGet(ctx context.Context, req adminapi.StatsGetRequestObject) (adminapi.StatsGetResponseObject, error) {
	q := req.Params
	sq := usage.StatsQuery{Filter: usage.Filter{UserID: q.UserId, APIKeyID: q.ApiKeyId, ChannelID: q.ChannelId,
		Model: q.Model, From: q.From, To: q.To}}
	if q.GroupBy != nil {
		sq.GroupBy = string(*q.GroupBy)
	}
	if q.Tz != nil {
		sq.TZ = *q.Tz
	}
	s, err := h.usage().Stats(ctx, sq)
	if err != nil {
		return nil, err
	}
	return adminapi.StatsGet200JSONResponse(wire.Stats(s)), nil
}
