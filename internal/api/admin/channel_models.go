package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

const (
	channelModelNotFound = "channel model not found"
	channelModelConflict = "the channel already serves a model of this name"
)

func channelModelOut(m *db.ChannelModel) adminapi.ChannelModel {
	return adminapi.ChannelModel{Id: m.ID, ChannelId: m.ChannelID, Name: m.Name, UpstreamName: m.UpstreamName,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func channelModelWriteErr(err error, notFound string) error {
	if store.IsUniqueViolation(err) {
		return fault.New(fault.Conflict, channelModelConflict)
	}
	err = store.Translate(err, notFound)
	if notFound == "" && fault.Is(err, fault.NotFound) { // the channel (foreign key) does not exist
		return fault.New(fault.NotFound, channelNotFound)
	}
	return err
}

// ChannelModelList lists the models a channel serves with their upstream names.
func (h *Handler) ChannelModelList(ctx context.Context, req adminapi.ChannelModelListRequestObject) (adminapi.ChannelModelListResponseObject, error) {
	if _, err := h.Queries.ChannelGet(ctx, h.Pool, req.Id); err != nil {
		return nil, store.Translate(err, channelNotFound)
	}
	rows, err := h.Queries.ChannelModelList(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	out := adminapi.ChannelModelList200JSONResponse{Items: make([]adminapi.ChannelModel, 0, len(rows))}
	for _, m := range rows {
		out.Items = append(out.Items, channelModelOut(m))
	}
	return out, nil
}

// ChannelModelCreate serves a model on a channel (mapped to upstream_name) and reroutes.
func (h *Handler) ChannelModelCreate(ctx context.Context, req adminapi.ChannelModelCreateRequestObject) (adminapi.ChannelModelCreateResponseObject, error) {
	b := req.Body
	up := b.Name
	if b.UpstreamName != nil {
		up = *b.UpstreamName
	}
	m, err := h.Queries.ChannelModelCreate(ctx, h.Pool, db.ChannelModelCreateParams{ChannelID: req.Id, Name: b.Name, UpstreamName: up})
	if err != nil {
		return nil, channelModelWriteErr(err, "")
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelModelCreate201JSONResponse(channelModelOut(m)), nil
}

// ChannelModelUpdate renames or remaps a channel model and reroutes.
func (h *Handler) ChannelModelUpdate(ctx context.Context, req adminapi.ChannelModelUpdateRequestObject) (adminapi.ChannelModelUpdateResponseObject, error) {
	m, err := h.Queries.ChannelModelUpdate(ctx, h.Pool, db.ChannelModelUpdateParams{ID: req.Id, Name: req.Body.Name,
		UpstreamName: req.Body.UpstreamName})
	if err != nil {
		return nil, channelModelWriteErr(err, channelModelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelModelUpdate200JSONResponse(channelModelOut(m)), nil
}

// ChannelModelDelete stops serving a model on a channel and reroutes.
func (h *Handler) ChannelModelDelete(ctx context.Context, req adminapi.ChannelModelDeleteRequestObject) (adminapi.ChannelModelDeleteResponseObject, error) {
	n, err := h.Queries.ChannelModelDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, channelModelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelModelDelete204Response{}, nil
}
