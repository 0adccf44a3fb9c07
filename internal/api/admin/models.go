package admin

import (
	"context"
	"encoding/json"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
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
	tier, err := tierIn(b.PromptTier)
	if err != nil {
		return nil, err
	}
	m, err := h.Queries.ModelCreate(ctx, h.Pool, db.ModelCreateParams{Name: b.Name, InputPrice: b.InputPrice,
		OutputPrice: b.OutputPrice, CachedInputPrice: b.CachedInputPrice, CacheWrite5mPrice: b.CacheWrite5mPrice,
		CacheWrite1hPrice: b.CacheWrite1hPrice, ReasoningPrice: b.ReasoningPrice, PerCallPrice: deref(b.PerCallPrice),
		ImagePrice: deref(b.ImagePrice), PromptTier: tier, OutputCap: b.OutputCap})
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
	tier, err := tierIn(b.PromptTier)
	if err != nil {
		return nil, err
	}
	has := func(v *int64, key string) bool { return v != nil || httpx.BodyHas(ctx, key) }
	m, err := h.Queries.ModelUpdate(ctx, h.Pool, db.ModelUpdateParams{ID: req.Id, InputPrice: b.InputPrice,
		OutputPrice: b.OutputPrice, CachedInputPrice: b.CachedInputPrice,
		SetCachedInputPrice: has(b.CachedInputPrice, "cached_input_price"),
		CacheWrite5mPrice:   b.CacheWrite5mPrice, SetCacheWrite5mPrice: has(b.CacheWrite5mPrice, "cache_write_5m_price"),
		CacheWrite1hPrice: b.CacheWrite1hPrice, SetCacheWrite1hPrice: has(b.CacheWrite1hPrice, "cache_write_1h_price"),
		ReasoningPrice: b.ReasoningPrice, SetReasoningPrice: has(b.ReasoningPrice, "reasoning_price"),
		PerCallPrice: b.PerCallPrice, ImagePrice: b.ImagePrice,
		PromptTier: tier, SetPromptTier: tier != nil || httpx.BodyHas(ctx, "prompt_tier"),
		OutputCap: b.OutputCap, SetOutputCap: has(b.OutputCap, "output_cap")})
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
func tierIn(t **adminapi.PromptTier) ([]byte, error) {
	if t == nil || *t == nil {
		return nil, nil
	}
	v := *t
	raw, err := json.Marshal(billing.PromptTier{AboveTokens: v.AboveTokens, InputPrice: v.InputPrice,
		OutputPrice: v.OutputPrice, CachedInputPrice: v.CachedInputPrice, CacheWrite5mPrice: v.CacheWrite5mPrice,
		CacheWrite1hPrice: v.CacheWrite1hPrice, ReasoningPrice: v.ReasoningPrice})
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
		CachedInputPrice: t.CachedInputPrice, CacheWrite5mPrice: t.CacheWrite5mPrice,
		CacheWrite1hPrice: t.CacheWrite1hPrice, ReasoningPrice: t.ReasoningPrice}
}
