package gateway

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/relay"
)

// ModelsList lists the models the caller may use: in OpenAI's shape, or in Anthropic's for a
// Claude caller (anthropic-version sent, or the key given as x-api-key rather than a bearer).
func (h *Handler) ModelsList(c echo.Context, _ gatewayapi.ModelsListParams) error {
	list, err := h.models(c)
	if err != nil {
		return err
	}
	if callerOf(c.Request()) == callerClaude {
		return c.JSON(http.StatusOK, claudeModelList(list.IDs, list.Listed))
	}
	return openAIModelList(c, list)
}

// OpenAIModelList lists the models the caller may use in OpenAI's shape, whichever SDK asks.
func (h *Handler) OpenAIModelList(c echo.Context) error {
	list, err := h.models(c)
	if err != nil {
		return err
	}
	return openAIModelList(c, list)
}

func openAIModelList(c echo.Context, list relay.ModelList) error {
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
	cl, _ := httpx.Local(c).(relay.Caller)
	list.IDs = cl.VisibleModels(list.IDs)
	return list, nil
}

// caller is the protocol whose SDK sent a request to a route all three share (/v1/models...).
type caller uint8

const (
	callerOpenAI caller = iota
	callerClaude
	callerGemini
)

// callerOf tells the SDK behind a request by where it put its key: x-goog-api-key or ?key= is
// Gemini's; anthropic-version, or x-api-key without a bearer token, is Anthropic's; anything else
// OpenAI's.
func callerOf(r *http.Request) caller {
	v := r.Header.Get("Authorization")
	bearer := len(v) > 7 && strings.EqualFold(v[:7], "bearer ")
	switch {
	case r.Header.Get("Anthropic-Version") != "" || !bearer && r.Header.Get("X-Api-Key") != "":
		return callerClaude
	case !bearer && (r.Header.Get("X-Goog-Api-Key") != "" || r.URL.Query().Has("key")):
		return callerGemini
	}
	return callerOpenAI
}

// ModelRetrieve serves GET /v1/models/{model}: the model in the shape of the caller's SDK.
func (h *Handler) ModelRetrieve(c echo.Context, id gatewayapi.ModelId, _ gatewayapi.ModelRetrieveParams) error {
	list, err := h.model(c, id)
	if err != nil {
		return err
	}
	switch callerOf(c.Request()) {
	case callerClaude:
		return c.JSON(http.StatusOK, claudeModelList([]string{id}, list.Listed).Data[0])
	case callerGemini:
		return c.JSON(http.StatusOK, geminiModel(id))
	}
	return c.JSON(http.StatusOK, gatewayapi.Model{Id: id, Object: gatewayapi.ModelObjectModel, Created: list.Listed.Unix(), OwnedBy: "poolgate"})
}

// GeminiModelRetrieve serves GET /v1beta/models/{model}: the model as Gemini's resource.
func (h *Handler) GeminiModelRetrieve(c echo.Context, id gatewayapi.ModelId, _ gatewayapi.GeminiModelRetrieveParams) error {
	if _, err := h.model(c, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, geminiModel(id))
}

// model finds one model the caller may call among the served ones (a 404 otherwise).
func (h *Handler) model(c echo.Context, id string) (relay.ModelList, error) {
	list, err := h.models(c)
	if err != nil {
		return list, err
	}
	if !slices.Contains(list.IDs, id) {
		return list, fault.Code(fault.NotFound, "model_not_found",
			"The model `"+relay.BoundName(id)+"` does not exist or you do not have access to it.")
	}
	return list, nil
}

// geminiMethods are the methods listed for every model in Gemini's shape.
var geminiMethods = []string{"generateContent", "streamGenerateContent", "countTokens"}

// geminiModel is a served model as Gemini's models/{id} resource.
func geminiModel(m string) gatewayapi.GeminiModel {
	id, version := m, "poolgate"
	methods := geminiMethods
	return gatewayapi.GeminiModel{Name: "models/" + m, BaseModelId: &id, DisplayName: &id,
		Version: &version, SupportedGenerationMethods: &methods}
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
	out := gatewayapi.GeminiModelList{Models: make([]gatewayapi.GeminiModel, 0, len(list.IDs))}
	for _, m := range list.IDs {
		out.Models = append(out.Models, geminiModel(m))
	}
	return c.JSON(http.StatusOK, out)
}
