package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
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
	return adminapi.ModelSyncPreview200JSONResponse(syncPreviewOut(ds)), nil
}

// syncPreviewOut is the preview's answer: one item per synced channel.
func syncPreviewOut(ds []pool.ModelDiff) adminapi.ModelSyncPreview {
	out := adminapi.ModelSyncPreview{Items: make([]adminapi.ModelSyncPreviewItem, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, adminapi.ModelSyncPreviewItem{ChannelId: d.ChannelID, ChannelName: d.ChannelName,
			SyncedAt: d.SyncedAt, Add: d.Add, Remove: d.Remove})
	}
	return out
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

// ModelSyncPreviewBrowser stores the model lists a client fetched from the channels' upstreams
// as their synced lists and shows what applying them would change.
func (h *Handler) ModelSyncPreviewBrowser(ctx context.Context, req adminapi.ModelSyncPreviewBrowserRequestObject) (adminapi.ModelSyncPreviewBrowserResponseObject, error) {
	lists := make([]pool.PostedList, 0, len(req.Body.Items))
	seen := make(map[int64]bool, len(req.Body.Items))
	for _, it := range req.Body.Items {
		if seen[it.ChannelId] {
			return nil, fault.New(fault.Invalid, fmt.Sprintf("items: channel %d is posted twice", it.ChannelId))
		}
		seen[it.ChannelId] = true
		body, err := json.Marshal(it.List)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, fmt.Sprintf("items: the list of channel %d is not JSON", it.ChannelId), err)
		}
		lists = append(lists, pool.PostedList{ChannelID: it.ChannelId, Body: body})
	}
	ds, err := h.Accounts.StorePosted(ctx, lists)
	switch {
	case errors.Is(err, pool.ErrUnknownChannel):
		return nil, fault.Wrap(fault.NotFound, err.Error(), err)
	case errors.Is(err, pool.ErrNoModels):
		return nil, fault.Wrap(fault.Unprocessable, err.Error(), err)
	case err != nil:
		return nil, err
	}
	return adminapi.ModelSyncPreviewBrowser200JSONResponse(syncPreviewOut(ds)), nil
}
