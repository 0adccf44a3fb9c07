package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/store"
)

// UserChannelUpdate changes a binding's priority and reroutes.
func (h *Handler) UserChannelUpdate(ctx context.Context, req adminapi.UserChannelUpdateRequestObject) (adminapi.UserChannelUpdateResponseObject, error) {
	prio, err := int32Of("priority", req.Body.Priority)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserChannelUpdate(ctx, h.Pool, db.UserChannelUpdateParams{ID: req.Id, Priority: prio})
	if err != nil {
		return nil, store.Translate(err, userChannelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.UserChannelUpdate200JSONResponse(userChannelOut(u)), nil
}
