package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

const userChannelNotFound = "user channel not found"

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

func userChannelOut(u *db.UserChannel) adminapi.UserChannel {
	return adminapi.UserChannel{Id: u.ID, UserId: u.UserID, ChannelId: u.ChannelID, Priority: int(u.Priority), CreatedAt: u.CreatedAt}
}

// UserChannelList lists the bindings of users to dedicated channels.
func (h *Handler) UserChannelList(ctx context.Context, req adminapi.UserChannelListRequestObject) (adminapi.UserChannelListResponseObject, error) {
	rows, err := h.Queries.UserChannelList(ctx, h.Pool, db.UserChannelListParams{UserID: req.Params.UserId, ChannelID: req.Params.ChannelId})
	if err != nil {
		return nil, err
	}
	out := adminapi.UserChannelList200JSONResponse{Items: make([]adminapi.UserChannel, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, userChannelOut(r))
	}
	return out, nil
}

// UserChannelCreate dedicates a channel to a user and reroutes.
func (h *Handler) UserChannelCreate(ctx context.Context, req adminapi.UserChannelCreateRequestObject) (adminapi.UserChannelCreateResponseObject, error) {
	b := req.Body
	p := db.UserChannelCreateParams{UserID: b.UserId, ChannelID: b.ChannelId}
	if b.Priority != nil {
		v, err := int32Of("priority", *b.Priority)
		if err != nil {
			return nil, err
		}
		p.Priority = v
	}
	u, err := h.Queries.UserChannelCreate(ctx, h.Pool, p)
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, "the user is already bound to this channel")
	}
	if err != nil {
		if store.IsNotFound(err) {
			return nil, fault.New(fault.NotFound, "the user or the channel does not exist")
		}
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.UserChannelCreate201JSONResponse(userChannelOut(u)), nil
}

// UserChannelDelete removes a binding and reroutes.
func (h *Handler) UserChannelDelete(ctx context.Context, req adminapi.UserChannelDeleteRequestObject) (adminapi.UserChannelDeleteResponseObject, error) {
	n, err := h.Queries.UserChannelDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, userChannelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.UserChannelDelete204Response{}, nil
}
