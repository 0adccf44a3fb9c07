package public

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/common"
	publicapi "github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
)

// PricingGet answers every usable model's price while the setting pricing_endpoint_enabled is
// on; 404 otherwise.
func (h *Handler) PricingGet(ctx context.Context, _ publicapi.PricingGetRequestObject) (publicapi.PricingGetResponseObject, error) {
	if !h.Settings.Get().PricingEndpointEnabled {
		return nil, fault.New(fault.NotFound, "not found")
	}
	models, err := h.Relay.Prices(ctx)
	if err != nil {
		return nil, err
	}
	out := publicapi.PricingGet200JSONResponse{Items: make([]commonapi.ModelPrice, 0, len(models))}
	for _, m := range models {
		out.Items = append(out.Items, wire.ModelPrice(m.Name, m.Price))
	}
	return out, nil
}

// ModelPublicList answers the names of the usable models.
func (h *Handler) ModelPublicList(ctx context.Context, _ publicapi.ModelPublicListRequestObject) (publicapi.ModelPublicListResponseObject, error) {
	models, err := h.Relay.Prices(ctx)
	if err != nil {
		return nil, err
	}
	out := publicapi.ModelPublicList200JSONResponse{Items: make([]struct {
		Name string `json:"name"`
	}, 0, len(models))}
	for _, m := range models {
		out.Items = append(out.Items, struct {
			Name string `json:"name"`
		}{Name: m.Name})
	}
	return out, nil
}
