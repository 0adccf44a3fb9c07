package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/relay"
)

// ModelsList lists the models the caller may use: in OpenAI's shape, or in Anthropic's for a
// Claude caller (anthropic-version sent, or the key given as x-api-key rather than a bearer).
func (h *Handler) ModelsList(c echo.Context, params gatewayapi.ModelsListParams) error {
	list, err := h.models(c)
	if err != nil {
		return err
	}
	if isClaudeCaller(c.Request(), params) {
		return c.JSON(http.StatusOK, claudeModelList(list.IDs, list.Listed))
	}
	out := gatewayapi.ModelList{Object: gatewayapi.List, Data: make([]gatewayapi.Model, 0, len(list.IDs))}
	created := list.Listed.Unix()
	for _, m := range list.IDs {
		out.Data = append(out.Data, gatewayapi.Model{Id: m, Object: gatewayapi.ModelObjectModel, Created: created, OwnedBy: "poolgate"})
	}
	return c.JSON(http.StatusOK, out)
}

// models lists the served models the caller's key may call.
func (h *Handler) models(c echo.Context) (relay.ModelList, error) {
	list, err := h.Relay.Models(c.Request().Context())
	if err != nil {
		return list, err
	}
	cl, _ := c.Get(callerKey).(relay.Caller)
	list.IDs = cl.VisibleModels(list.IDs)
	return list, nil
}

// isClaudeCaller reports whether a request comes from a Claude client: it names an Anthropic API
// version, or authenticates with x-api-key and no bearer token.
func isClaudeCaller(r *http.Request, params gatewayapi.ModelsListParams) bool {
	if params.AnthropicVersion != nil && *params.AnthropicVersion != "" {
		return true
	}
	v := r.Header.Get("Authorization")
	bearer := len(v) > 7 && strings.EqualFold(v[:7], "bearer ")
	return !bearer && r.Header.Get("X-Api-Key") != ""
}

// claudeModelList is ids in Anthropic's models list shape, all on one page.
func claudeModelList(ids []string, listed time.Time) gatewayapi.ClaudeModelList {
	out := gatewayapi.ClaudeModelList{Data: make([]gatewayapi.ClaudeModel, 0, len(ids))}
	created := listed.UTC().Truncate(time.Second)
	for _, m := range ids {
		out.Data = append(out.Data, gatewayapi.ClaudeModel{Type: gatewayapi.ClaudeModelTypeModel, Id: m, DisplayName: m, CreatedAt: created})
	}
	if len(ids) > 0 {
		out.FirstId, out.LastId = &ids[0], &ids[len(ids)-1]
	}
	return out
}

// GeminiModelList lists the models the caller may use, in Gemini's shape.
func (h *Handler) GeminiModelList(c echo.Context, _ gatewayapi.GeminiModelListParams) error {
	list, err := h.models(c)
	if err != nil {
		return err
	}
	methods := []string{"generateContent", "streamGenerateContent", "countTokens"}
	out := gatewayapi.GeminiModelList{Models: make([]gatewayapi.GeminiModel, 0, len(list.IDs))}
	for _, m := range list.IDs {
		id, version := m, "poolgate"
		out.Models = append(out.Models, gatewayapi.GeminiModel{Name: "models/" + m, BaseModelId: &id, DisplayName: &id,
			Version: &version, SupportedGenerationMethods: &methods})
	}
	return c.JSON(http.StatusOK, out)
}
