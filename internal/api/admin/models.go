package admin

import (
	"context"
	"encoding/json"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
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
		return nil, err
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
	var pt *adminapi.PromptTier
	if b.PromptTier != nil {
		pt = *b.PromptTier
	}
	tier, err := tierIn(pt)
	if err != nil {
		return nil, err
	}
	m, err := h.Queries.ModelCreate(ctx, h.Pool, db.ModelCreateParams{Name: b.Name, InputPrice: b.InputPrice,
		OutputPrice: b.OutputPrice, CachedInputPrice: wire.Ptr(b.CachedInputPrice), CacheWrite5mPrice: wire.Ptr(b.CacheWrite5mPrice),
		CacheWrite1hPrice: wire.Ptr(b.CacheWrite1hPrice), ReasoningPrice: wire.Ptr(b.ReasoningPrice), PerCallPrice: deref(b.PerCallPrice),
		ImagePrice: deref(b.ImagePrice), PromptTier: tier, OutputCap: wire.Ptr(b.OutputCap)})
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, modelConflict)
	}
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ModelCreate201JSONResponse(modelOut(m)), nil
}

// ModelUpdate changes the prices present and reroutes. A `cached_input_price` of null resets it
// to the input price (an `output_cap` of null removes the cap); leaving it out keeps it.
func (h *Handler) ModelUpdate(ctx context.Context, req adminapi.ModelUpdateRequestObject) (adminapi.ModelUpdateResponseObject, error) {
	b := req.Body
	tier, err := tierIn(wire.Ptr(b.PromptTier))
	if err != nil {
		return nil, err
	}
	p := db.ModelUpdateParams{ID: req.Id, InputPrice: b.InputPrice, OutputPrice: b.OutputPrice,
		PerCallPrice: b.PerCallPrice, ImagePrice: b.ImagePrice, PromptTier: tier, SetPromptTier: b.PromptTier.IsSpecified()}
	p.CachedInputPrice, p.SetCachedInputPrice = wire.Change(b.CachedInputPrice)
	p.CacheWrite5mPrice, p.SetCacheWrite5mPrice = wire.Change(b.CacheWrite5mPrice)
	p.CacheWrite1hPrice, p.SetCacheWrite1hPrice = wire.Change(b.CacheWrite1hPrice)
	p.ReasoningPrice, p.SetReasoningPrice = wire.Change(b.ReasoningPrice)
	p.OutputCap, p.SetOutputCap = wire.Change(b.OutputCap)
	m, err := h.Queries.ModelUpdate(ctx, h.Pool, p)
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
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, modelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ModelDelete204Response{}, nil
}

// tierIn encodes a request's prompt tier for storage (nil: none or null).
func tierIn(v *adminapi.PromptTier) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(billing.PromptTier{AboveTokens: v.AboveTokens, InputPrice: v.InputPrice,
		OutputPrice: v.OutputPrice, CachedInputPrice: wire.Ptr(v.CachedInputPrice), CacheWrite5mPrice: wire.Ptr(v.CacheWrite5mPrice),
		CacheWrite1hPrice: wire.Ptr(v.CacheWrite1hPrice), ReasoningPrice: wire.Ptr(v.ReasoningPrice)})
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "prompt_tier: cannot be encoded", err)
	}
	return raw, nil
}

// tierOut decodes a stored prompt tier (nil: none).
func tierOut(raw []byte) *adminapi.PromptTier {
	t, err := billing.ParsePromptTier(raw)
	if err != nil || t == nil {
		return nil
	}
	return &adminapi.PromptTier{AboveTokens: t.AboveTokens, InputPrice: t.InputPrice, OutputPrice: t.OutputPrice,
		CachedInputPrice: wire.Opt(t.CachedInputPrice), CacheWrite5mPrice: wire.Opt(t.CacheWrite5mPrice),
		CacheWrite1hPrice: wire.Opt(t.CacheWrite1hPrice), ReasoningPrice: wire.Opt(t.ReasoningPrice)}
}
