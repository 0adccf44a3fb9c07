package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/fault"
)

// ModelsList lists the models the caller may use: in OpenAI's shape, or in Anthropic's for a
// Claude caller (anthropic-version sent, or the key given as x-api-key rather than a bearer).
func (g *Gateway) ModelsList(c echo.Context, params gatewayapi.ModelsListParams) error {
	snap, err := g.routes.get(c.Request().Context())
	if err != nil {
		return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	allowUnpriced := g.d.Settings.Get().AllowUnpricedModels
	ids := make([]string, 0, len(snap.models))
	for _, m := range snap.models {
		if _, ok := snap.prices[m]; ok || allowUnpriced {
			ids = append(ids, m)
		}
	}
	if isClaudeCaller(c.Request(), params) {
		return c.JSON(http.StatusOK, claudeModelList(ids, snap))
	}
	out := gatewayapi.ModelList{Object: gatewayapi.List, Data: make([]gatewayapi.Model, 0, len(ids))}
	created := snap.built.Unix()
	for _, m := range ids {
		out.Data = append(out.Data, gatewayapi.Model{Id: m, Object: gatewayapi.ModelObjectModel, Created: created, OwnedBy: "poolgate"})
	}
	return c.JSON(http.StatusOK, out)
}

// isClaudeCaller reports whether a request comes from a Claude client: it names an Anthropic API
// version, or authenticates with x-api-key and no bearer token.
func isClaudeCaller(r *http.Request, params gatewayapi.ModelsListParams) bool {
	if params.AnthropicVersion != nil && *params.AnthropicVersion != "" {
		return true
	}
	h := r.Header.Get("Authorization")
	bearer := len(h) > 7 && strings.EqualFold(h[:7], "bearer ")
	return !bearer && r.Header.Get("X-Api-Key") != ""
}

// claudeModelList is ids in Anthropic's models list shape, all on one page.
func claudeModelList(ids []string, snap *snapshot) gatewayapi.ClaudeModelList {
	out := gatewayapi.ClaudeModelList{Data: make([]gatewayapi.ClaudeModel, 0, len(ids))}
	created := snap.built.UTC().Truncate(time.Second)
	for _, m := range ids {
		out.Data = append(out.Data, gatewayapi.ClaudeModel{Type: gatewayapi.ClaudeModelTypeModel, Id: m, DisplayName: m, CreatedAt: created})
	}
	if len(ids) > 0 {
		out.FirstId, out.LastId = &ids[0], &ids[len(ids)-1]
	}
	return out
}
