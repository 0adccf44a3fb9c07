// Package anthropic is the adapter of the Anthropic (Claude) Messages wire format: request URLs
// and headers, usage, error bodies, the model list and the test call. Adapter implements
// provider.Adapter. It works on bytes and net/http types only; conversion to and from other
// protocols lives in internal/translate.
package anthropic

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolgate/poolgate/internal/jsonx"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/translate"
)

// DefaultVersion is the anthropic-version sent when the caller gave none.
const DefaultVersion = "2023-06-01"

// Adapter is the Claude protocol's provider.Adapter.
type Adapter struct{}

// Protocol is translate.Claude.
func (Adapter) Protocol() translate.Protocol { return translate.Claude }

// URL joins base and an API path below /v1.
func (Adapter) URL(base, _, path string) string { return URL(base, path) }

// ChatPath is "/messages".
func (Adapter) ChatPath(bool) string { return "/messages" }

// SetHeaders sets x-api-key and anthropic-version, passing on a Claude caller's
// anthropic-version and anthropic-beta.
func (Adapter) SetHeaders(h, in http.Header, credential string) {
	var version, beta string
	if in != nil {
		version, beta = in.Get("Anthropic-Version"), in.Get("Anthropic-Beta")
	}
	SetHeaders(h, credential, version, beta)
}

// WithModel returns the body with "model" replaced.
func (Adapter) WithModel(body []byte, model string) ([]byte, error) {
	return sjson.SetBytes(body, "model", model)
}

// WithStreamUsage returns body: Claude streams always report usage.
func (Adapter) WithStreamUsage(body []byte) ([]byte, error) { return body, nil }

// DecodeRequest decodes a Messages request.
func (Adapter) DecodeRequest(body []byte, _ string, _ bool) (*translate.Request, error) {
	return translate.DecodeClaudeRequest(body)
}

// EncodeRequest encodes a Messages request.
func (Adapter) EncodeRequest(r *translate.Request) []byte { return translate.EncodeClaudeRequest(r) }

// DecodeResponse decodes a message.
func (Adapter) DecodeResponse(body []byte) (*translate.Response, error) {
	return translate.DecodeClaudeResponse(body)
}

// EncodeResponse encodes a message naming model.
func (Adapter) EncodeResponse(r *translate.Response, model string, _ int64) []byte {
	return translate.EncodeClaudeResponse(r, model)
}

// NewStreamDecoder decodes a Messages stream.
func (Adapter) NewStreamDecoder() translate.StreamDecoder {
	return translate.NewDecoder(translate.Claude)
}

// NewStreamEncoder encodes a Messages stream.
func (Adapter) NewStreamEncoder(o translate.EncoderOptions) translate.StreamEncoder {
	return translate.NewEncoder(translate.Claude, o)
}

// Usage reads a message's usage.
func (Adapter) Usage(body []byte) (translate.Usage, bool) {
	return translate.UsageOf(translate.Claude, body)
}

// TokenCount is count_tokens' answer.
func (Adapter) TokenCount(n int64) []byte {
	return append(strconv.AppendInt([]byte(`{"input_tokens":`), n, 10), '}')
}

// Error reads an error body's message and type.
func (Adapter) Error(body []byte) (message, typ, code string) {
	message, typ = ErrorOf(body)
	return message, typ, ""
}

// ModelsURL is the URL of the model list.
func (Adapter) ModelsURL(base string) string { return ModelsURL(base) }

// ModelIDs reads data[].id.
func (Adapter) ModelIDs(body []byte) []string { return openai.ModelIDs(body) }

// TestCall is the test call's URL and body.
func (Adapter) TestCall(base, model string) (string, []byte) { return TestCall(base, model) }

// AnswerText is the text of a message's text blocks.
func (Adapter) AnswerText(body []byte) string { return AnswerText(body) }

// URL joins a channel's base URL (the API root, e.g. https://api.anthropic.com, with or without
// /v1) and an API path below /v1 (e.g. "/messages").
func URL(base, path string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/v1") {
		return base + path
	}
	return base + "/v1" + path
}

// ModelsURL is the URL of the model list below a channel's base URL, with or without /v1.
func ModelsURL(base string) string { return URL(base, "/models") }

// SetHeaders sets the credential and version headers of an upstream request. version and beta
// are the caller's (when the caller speaks Claude); an empty version sends DefaultVersion.
func SetHeaders(h http.Header, credential, version, beta string) {
	h.Set("X-Api-Key", credential)
	if version == "" {
		version = DefaultVersion
	}
	h.Set("Anthropic-Version", version)
	if beta != "" {
		h.Set("Anthropic-Beta", beta)
	}
}

// ErrorOf reads an upstream error body's message and type ({"type":"error","error":{"type",
// "message"}}). Bodies that are not Claude errors give empty strings.
func ErrorOf(body []byte) (message, typ string) {
	e := gjson.GetBytes(body, "error")
	return e.Get("message").String(), e.Get("type").String()
}

// TestCall is the URL and body of a minimal message asking model openai.TestPrompt.
func TestCall(base, model string) (url string, body []byte) {
	b := jsonx.AppendString([]byte(`{"model":`), model)
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, openai.TestMaxTokens, 10)
	b = append(b, `,"messages":[{"role":"user","content":"`+openai.TestPrompt+`"}]}`...)
	return URL(base, "/messages"), b
}

// AnswerText is the text of a message's text blocks.
func AnswerText(body []byte) string {
	var sb strings.Builder
	for _, t := range gjson.GetBytes(body, `content.#(type=="text")#.text`).Array() {
		sb.WriteString(t.Str)
	}
	return sb.String()
}
