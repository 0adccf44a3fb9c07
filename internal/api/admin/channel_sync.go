package admin

import (
	"context"
	"slices"

	"github.com/poolgate/poolgate/gen/api/admin"
)

// ChannelSync fetches each selected channel's upstream model list and stores it (pool.SyncChannels).
func (h *Handler) ChannelSync(ctx context.Context, req adminapi.ChannelSyncRequestObject) (adminapi.ChannelSyncResponseObject, error) {
	rs, err := h.Accounts.SyncChannels(ctx, selection(req.Body.ChannelIds))
	if err != nil {
		return nil, err
	}
	out := adminapi.ChannelSync200JSONResponse{Items: make([]adminapi.ChannelSyncItem, 0, len(rs))}
	for _, r := range rs {
		out.Items = append(out.Items, adminapi.ChannelSyncItem{ChannelId: r.ChannelID, Ok: r.Ok, Models: r.Models, Error: r.Error})
	}
	return out, nil
}

// ModelSyncPreview shows, per synced channel, what applying its upstream list would change.
func (h *Handler) ModelSyncPreview(ctx context.Context, req adminapi.ModelSyncPreviewRequestObject) (adminapi.ModelSyncPreviewResponseObject, error) {
	ds, err := h.Accounts.SyncPreview(ctx, selection(req.Body.ChannelIds))
	if err != nil {
		return nil, err
	}
	out := adminapi.ModelSyncPreview200JSONResponse{Items: make([]adminapi.ModelSyncPreviewItem, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, adminapi.ModelSyncPreviewItem{ChannelId: d.ChannelID, ChannelName: d.ChannelName,
			SyncedAt: d.SyncedAt, Add: d.Add, Remove: d.Remove})
	}
	return out, nil
}

// ModelSyncApply adds the upstream's models to the selected synced channels (and with remove,
// drops the ones it no longer lists), then reroutes.
func (h *Handler) ModelSyncApply(ctx context.Context, req adminapi.ModelSyncApplyRequestObject) (adminapi.ModelSyncApplyResponseObject, error) {
	remove := req.Body.Remove != nil && *req.Body.Remove
	as, err := h.Accounts.ApplySync(ctx, selection(req.Body.ChannelIds), remove)
	if err != nil {
		return nil, err
	}
	out := adminapi.ModelSyncApply200JSONResponse{Items: make([]adminapi.ModelSyncApplyItem, 0, len(as))}
	for _, a := range as {
		out.Items = append(out.Items, adminapi.ModelSyncApplyItem{ChannelId: a.ChannelID, Models: a.Models})
	}
	return out, nil
}

// selection chooses the channels of ids, or every channel when ids is absent.
func selection(ids *[]int64) func(int64) bool {
	return func(id int64) bool { return ids == nil || slices.Contains(*ids, id) }
}
