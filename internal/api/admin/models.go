package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/store"
)

const (
	modelNotFound = "model not found"
	modelConflict = "a model with this name already exists"
)

// ModelList lists every priced model, by name.
func (h *Handler) ModelList(ctx context.Context, _ adminapi.ModelListRequestObject) (adminapi.ModelListResponseObject, error) {
	rows, err := h.Queries.ModelList(ctx, h.Pool)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.ModelList200JSONResponse{Items: make([]adminapi.Model, 0, len(rows))}
	for _, m := range rows {
		out.Items = append(out.Items, modelOut(m))
	}
	return out, nil
}

// ModelCreate prices a model and reroutes.
func (h *Handler) ModelCreate(ctx context.Context, req adminapi.ModelCreateRequestObject) (adminapi.ModelCreateResponseObject, error) {
	b := req.Body
	m, err := h.Queries.ModelCreate(ctx, h.Pool, db.ModelCreateParams{Name: b.Name, InputPrice: b.InputPrice,
		OutputPrice: b.OutputPrice, CachedInputPrice: b.CachedInputPrice})
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, modelConflict)
	}
	if err != nil {
		return nil, store.Translate(err, "")
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ModelCreate201JSONResponse(modelOut(m)), nil
}

// ModelUpdate changes the prices present and reroutes. A `cached_input_price` of null resets it
// to the input price; leaving it out keeps it.
func (h *Handler) ModelUpdate(ctx context.Context, req adminapi.ModelUpdateRequestObject) (adminapi.ModelUpdateResponseObject, error) {
	b := req.Body
	m, err := h.Queries.ModelUpdate(ctx, h.Pool, db.ModelUpdateParams{ID: req.Id, InputPrice: b.InputPrice,
		OutputPrice: b.OutputPrice, CachedInputPrice: b.CachedInputPrice,
		SetCachedInputPrice: b.CachedInputPrice != nil || httpx.BodyHas(ctx, "cached_input_price")})
	if err != nil {
		return nil, store.Translate(err, modelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ModelUpdate200JSONResponse(modelOut(m)), nil
}

// ModelDelete removes a model's price and reroutes.
func (h *Handler) ModelDelete(ctx context.Context, req adminapi.ModelDeleteRequestObject) (adminapi.ModelDeleteResponseObject, error) {
	n, err := h.Queries.ModelDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, modelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ModelDelete204Response{}, nil
}
