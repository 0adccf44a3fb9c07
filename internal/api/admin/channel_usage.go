package admin

import (
	"context"
	"time"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
)

// ChannelUsageList aggregates the usage logs per channel over a period (default the last day).
func (h *Handler) ChannelUsageList(ctx context.Context, req adminapi.ChannelUsageListRequestObject) (adminapi.ChannelUsageListResponseObject, error) {
	until := h.Accounts.Now()
	if req.Params.Until != nil {
		until = *req.Params.Until
	}
	since := until.Add(-24 * time.Hour)
	if req.Params.Since != nil {
		since = *req.Params.Since
	}
	if !since.Before(until) {
		return nil, fault.New(fault.Invalid, "since must be before until")
	}
	rows, err := h.Queries.ChannelUsage(ctx, h.Pool, db.ChannelUsageParams{Since: since, Until: until})
	if err != nil {
		return nil, err
	}
	out := adminapi.ChannelUsageList200JSONResponse{Since: since, Until: until, Items: make([]adminapi.ChannelUsage, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, adminapi.ChannelUsage{ChannelId: r.ChannelID, Name: r.Name, Requests: r.Requests,
			Succeeded: r.Succeeded, Failed: r.Failed, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			Quota: r.Quota})
	}
	return out, nil
}
