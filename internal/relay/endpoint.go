package relay

import (
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/jsonx"
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

// Endpoint is one inbound route: the caller's protocol, the operation, and the upstream path
// used when the channel speaks the same protocol.
type Endpoint struct {
	name   string // logged as the call's endpoint
	in     translate.Protocol
	op     opKind
	path   string // upstream path (OpenAI, Claude) or Gemini action
	stream bool   // Gemini: the action streams
}

// The inbound endpoints of the OpenAI and Claude protocols (Gemini's: GeminiEndpoint).
var (
	Chat        = &Endpoint{name: "/v1/chat/completions", in: translate.OpenAI, op: opChat, path: "/chat/completions"}
	Completion  = &Endpoint{name: "/v1/completions", in: translate.OpenAI, op: opCompletion, path: "/completions"}
	Responses   = &Endpoint{name: "/v1/responses", in: translate.OpenAI, op: opResponses, path: "/responses"}
	Embeddings  = &Endpoint{name: "/v1/embeddings", in: translate.OpenAI, op: opEmbeddings, path: "/embeddings"}
	Images      = &Endpoint{name: "/v1/images/generations", in: translate.OpenAI, op: opImages, path: "/images/generations"}
	Messages    = &Endpoint{name: "/v1/messages", in: translate.Claude, op: opChat, path: "/messages"}
	CountTokens = &Endpoint{name: "/v1/messages/count_tokens", in: translate.Claude, op: opCount, path: "/messages/count_tokens"}

	geminiActions = map[string]*Endpoint{
		"generateContent":       {name: "/v1beta/models:generateContent", in: translate.Gemini, op: opChat, path: "generateContent"},
		"streamGenerateContent": {name: "/v1beta/models:streamGenerateContent", in: translate.Gemini, op: opChat, path: "streamGenerateContent", stream: true},
		"countTokens":           {name: "/v1beta/models:countTokens", in: translate.Gemini, op: opCount, path: "countTokens"},
		"embedContent":          {name: "/v1beta/models:embedContent", in: translate.Gemini, op: opEmbeddings, path: "embedContent"},
	}
)

// GeminiEndpoint is the endpoint of a Gemini model method (generateContent, ...); ok is false
// for a method the gateway does not offer.
func GeminiEndpoint(action string) (ep *Endpoint, ok bool) {
	ep, ok = geminiActions[action]
	return ep, ok
}

// Streams reports whether the endpoint always streams (Gemini's streamGenerateContent).
func (ep *Endpoint) Streams() bool { return ep.stream }

// parse reads what the relay needs of a request body without decoding it: the model (from the
// URL for Gemini) and the stream flags.
func (ep *Endpoint) parse(body []byte, model string) (openai.Request, error) {
	if ep.in == translate.Gemini {
		var f [len(geminiFields)]gjson.Result
		if !jsonx.ParseMembers(body, geminiFields[:], f[:]) { // one JSON object, checked in one pass
			return openai.Request{}, fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
		}
		if ep.op == opChat {
			if err := checkGeminiBounds([2]gjson.Result{f[2+openai.MetaGenerationConfig], f[2+openai.MetaGenerationConfigSnake]}); err != nil {
				return openai.Request{}, err
			}
		}
		req := openai.Request{Model: model, Stream: ep.stream}
		req.Knobs[openai.KnobMaxTokens], req.Knobs[openai.KnobMaxCompletionTokens] = f[0], f[1]
		copy(req.Meta[:], f[2:])
		return req, nil
	}
	req, ok := openai.ParseRequest(body)
	if !ok {
		return req, fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
	}
	if ep.op == opCount || ep.op == opEmbeddings || ep.op == opImages {
		req.Stream = false
	}
	if err := ep.checkBounds(&req); err != nil {
		return req, err
	}
	return req, nil
}
