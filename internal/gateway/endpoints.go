package gateway

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/jsonx"
	"github.com/poolgate/poolgate/internal/provider/gemini"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/translate"
)

// opKind is what a gateway call does, whatever its protocol.
type opKind uint8

const (
	opChat       opKind = iota + 1 // chat completion, message, generateContent: translatable
	opCompletion                   // OpenAI legacy completion
	opResponses                    // OpenAI Responses API
	opEmbeddings                   // OpenAI embeddings, Gemini embedContent
	opImages                       // OpenAI image generation
	opCount                        // Claude count_tokens, Gemini countTokens: never charged
)

// endpoint is one inbound route: the caller's protocol, the operation, and the upstream path
// used when the channel speaks the same protocol.
type endpoint struct {
	name   string // logged as the call's endpoint
	in     translate.Protocol
	op     opKind
	path   string // upstream path (OpenAI, Claude) or Gemini action
	stream bool   // Gemini: the action streams
}

var (
	epChat        = &endpoint{name: "/v1/chat/completions", in: translate.OpenAI, op: opChat, path: "/chat/completions"}
	epCompletion  = &endpoint{name: "/v1/completions", in: translate.OpenAI, op: opCompletion, path: "/completions"}
	epResponses   = &endpoint{name: "/v1/responses", in: translate.OpenAI, op: opResponses, path: "/responses"}
	epEmbeddings  = &endpoint{name: "/v1/embeddings", in: translate.OpenAI, op: opEmbeddings, path: "/embeddings"}
	epImages      = &endpoint{name: "/v1/images/generations", in: translate.OpenAI, op: opImages, path: "/images/generations"}
	epMessages    = &endpoint{name: "/v1/messages", in: translate.Claude, op: opChat, path: "/messages"}
	epCountTokens = &endpoint{name: "/v1/messages/count_tokens", in: translate.Claude, op: opCount, path: "/messages/count_tokens"}
	geminiActions = map[string]*endpoint{
		"generateContent":       {name: "/v1beta/models:generateContent", in: translate.Gemini, op: opChat, path: "generateContent"},
		"streamGenerateContent": {name: "/v1beta/models:streamGenerateContent", in: translate.Gemini, op: opChat, path: "streamGenerateContent", stream: true},
		"countTokens":           {name: "/v1beta/models:countTokens", in: translate.Gemini, op: opCount, path: "countTokens"},
		"embedContent":          {name: "/v1beta/models:embedContent", in: translate.Gemini, op: opEmbeddings, path: "embedContent"},
	}
)

// parse reads what the gateway needs of a request body without decoding it: the model (from the
// URL for Gemini) and the stream flags.
func (ep *endpoint) parse(body []byte, model string) (openai.Request, error) {
	if ep.in == translate.Gemini {
		if !jsonx.ParseMembers(body, nil, nil) { // one JSON object, checked in one pass
			return openai.Request{}, fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
		}
		return openai.Request{Model: model, Stream: ep.stream}, nil
	}
	req, ok := openai.ParseRequest(body)
	if !ok {
		return req, fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
	}
	if ep.op == opCount || ep.op == opEmbeddings || ep.op == opImages {
		req.Stream = false
	}
	return req, nil
}

// ChatCompletionCreate relays an OpenAI chat completion.
func (g *Gateway) ChatCompletionCreate(c echo.Context) error { return g.relay(c, epChat, "") }

// CompletionCreate relays an OpenAI legacy completion.
func (g *Gateway) CompletionCreate(c echo.Context) error { return g.relay(c, epCompletion, "") }

// ResponseCreate relays an OpenAI Responses API call.
func (g *Gateway) ResponseCreate(c echo.Context) error { return g.relay(c, epResponses, "") }

// EmbeddingCreate relays an OpenAI embeddings call.
func (g *Gateway) EmbeddingCreate(c echo.Context) error { return g.relay(c, epEmbeddings, "") }

// ImageCreate relays an OpenAI image generation.
func (g *Gateway) ImageCreate(c echo.Context) error { return g.relay(c, epImages, "") }

// MessageCreate serves Claude's Messages API.
func (g *Gateway) MessageCreate(c echo.Context, _ gatewayapi.MessageCreateParams) error {
	return g.relay(c, epMessages, "")
}

// MessageTokenCount serves Claude's count_tokens.
func (g *Gateway) MessageTokenCount(c echo.Context, _ gatewayapi.MessageTokenCountParams) error {
	return g.relay(c, epCountTokens, "")
}

// GeminiModelAction serves POST /v1beta/models/{model}:{action}.
func (g *Gateway) GeminiModelAction(c echo.Context, modelAction gatewayapi.ModelAction, _ gatewayapi.GeminiModelActionParams) error {
	return g.geminiAction(c, modelAction)
}

// GeminiModelActionV1 serves POST /v1/models/{model}:{action}.
func (g *Gateway) GeminiModelActionV1(c echo.Context, modelAction gatewayapi.ModelAction, _ gatewayapi.GeminiModelActionV1Params) error {
	return g.geminiAction(c, modelAction)
}

func (g *Gateway) geminiAction(c echo.Context, modelAction string) error {
	model, action, ok := gemini.SplitModelAction(modelAction)
	if !ok {
		return fault.Code(fault.NotFound, "not_found", "expected /models/<model>:<action>")
	}
	ep := geminiActions[action]
	if ep == nil {
		return fault.Code(fault.NotFound, "not_found", "the Gemini method "+action+" is not supported")
	}
	if ep.stream && c.QueryParam("alt") != "sse" {
		ep = &endpoint{name: ep.name, in: ep.in, op: ep.op, path: ep.path, stream: true}
		c.Set(geminiArrayKey, true)
	}
	return g.relay(c, ep, model)
}

// geminiArrayKey marks a Gemini stream the caller wants as a JSON array rather than SSE.
const geminiArrayKey = "gateway.geminiArray"

// GeminiModelList lists the models the caller may use, in Gemini's shape.
func (g *Gateway) GeminiModelList(c echo.Context, _ gatewayapi.GeminiModelListParams) error {
	snap, err := g.routes.get(c.Request().Context())
	if err != nil {
		return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	allowUnpriced := g.d.Settings.Get().AllowUnpricedModels
	methods := []string{"generateContent", "streamGenerateContent", "countTokens"}
	out := gatewayapi.GeminiModelList{Models: make([]gatewayapi.GeminiModel, 0, len(snap.models))}
	for _, m := range snap.models {
		if _, ok := snap.prices[m]; !ok && !allowUnpriced {
			continue
		}
		id, version := m, "poolgate"
		out.Models = append(out.Models, gatewayapi.GeminiModel{Name: "models/" + m, BaseModelId: &id, DisplayName: &id,
			Version: &version, SupportedGenerationMethods: &methods})
	}
	return c.JSON(http.StatusOK, out)
}

// isGeminiPath reports whether a /v1/ path is Gemini's /v1/models/{model}:{action}.
func isGeminiPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/models/")
	return ok && strings.Contains(rest, ":")
}
