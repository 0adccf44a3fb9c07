package gateway

import (
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/provider/gemini"
	"github.com/poolgate/poolgate/internal/relay"
)

// ChatCompletionCreate relays an OpenAI chat completion.
func (h *Handler) ChatCompletionCreate(c echo.Context) error {
	return h.serve(c, relay.Chat, "", false)
}

// CompletionCreate relays an OpenAI legacy completion.
func (h *Handler) CompletionCreate(c echo.Context) error {
	return h.serve(c, relay.Completion, "", false)
}

// ResponseCreate relays an OpenAI Responses API call.
func (h *Handler) ResponseCreate(c echo.Context) error { return h.serve(c, relay.Responses, "", false) }

// EmbeddingCreate relays an OpenAI embeddings call.
func (h *Handler) EmbeddingCreate(c echo.Context) error {
	return h.serve(c, relay.Embeddings, "", false)
}

// ImageCreate relays an OpenAI image generation.
func (h *Handler) ImageCreate(c echo.Context) error { return h.serve(c, relay.Images, "", false) }

// MessageCreate serves Claude's Messages API.
func (h *Handler) MessageCreate(c echo.Context, _ gatewayapi.MessageCreateParams) error {
	return h.serve(c, relay.Messages, "", false)
}

// MessageTokenCount serves Claude's count_tokens.
func (h *Handler) MessageTokenCount(c echo.Context, _ gatewayapi.MessageTokenCountParams) error {
	return h.serve(c, relay.CountTokens, "", false)
}

// GeminiModelAction serves POST /v1beta/models/{model}:{action}.
func (h *Handler) GeminiModelAction(c echo.Context, modelAction gatewayapi.ModelAction, _ gatewayapi.GeminiModelActionParams) error {
	return h.geminiAction(c, modelAction)
}

// GeminiModelActionV1 serves POST /v1/models/{model}:{action}.
func (h *Handler) GeminiModelActionV1(c echo.Context, modelAction gatewayapi.ModelAction, _ gatewayapi.GeminiModelActionV1Params) error {
	return h.geminiAction(c, modelAction)
}

// geminiAction serves a Gemini model method; a streamed method answers server-sent events when
// the caller asks for them (?alt=sse), else Gemini's JSON array.
func (h *Handler) geminiAction(c echo.Context, modelAction string) error {
	model, action, ok := gemini.SplitModelAction(modelAction)
	if !ok {
		return fault.Code(fault.NotFound, "not_found", "expected /models/<model>:<action>")
	}
	ep, ok := relay.GeminiEndpoint(action)
	if !ok {
		return fault.Code(fault.NotFound, "not_found", "the Gemini method "+action+" is not supported")
	}
	return h.serve(c, ep, model, ep.Streams() && c.QueryParam("alt") != "sse")
}
