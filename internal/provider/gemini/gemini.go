// Package gemini is the adapter of the Google Gemini (generateContent) wire format: request URLs
// and headers, usage, error bodies, the model list and the test call. Adapter implements
// provider.Adapter. It works on bytes and net/http types only; conversion to and from other
// protocols lives in internal/translate.
package gemini

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/translate"
)

// Adapter is the Gemini protocol's provider.Adapter.
type Adapter struct{}

// Protocol is translate.Gemini.
func (Adapter) Protocol() translate.Protocol { return translate.Gemini }

// URL is the URL of model's method path (generateContent, ...).
func (Adapter) URL(base, model, path string) string { return URL(base, model, path) }

// ChatPath is generateContent, or streamGenerateContent for a stream.
func (Adapter) ChatPath(stream bool) string {
	if stream {
		return "streamGenerateContent"
	}
	return "generateContent"
}

// SetHeaders sets x-goog-api-key.
func (Adapter) SetHeaders(h, _ http.Header, credential string) { SetHeaders(h, credential) }

// CredentialHeader is the one header SetHeaders sets (provider.CredentialHeaderer).
func (Adapter) CredentialHeader(credential string) (name, value string) {
	return CredentialHeader(credential)
}

// WithModel returns body: Gemini names the model in the URL.
func (Adapter) WithModel(body []byte, _ string) ([]byte, error) { return body, nil }

// WithStreamUsage returns body: Gemini streams always report usage.
func (Adapter) WithStreamUsage(body []byte) ([]byte, error) { return body, nil }

// DecodeRequest decodes a generateContent request for model.
func (Adapter) DecodeRequest(body []byte, model string, stream bool) (*translate.Request, error) {
	return translate.DecodeGeminiRequest(body, model, stream)
}

// EncodeRequest encodes a generateContent request.
func (Adapter) EncodeRequest(r *translate.Request) []byte { return translate.EncodeGeminiRequest(r) }

// DecodeResponse decodes a generateContent answer.
func (Adapter) DecodeResponse(body []byte) (*translate.Response, error) {
	return translate.DecodeGeminiResponse(body)
}

// EncodeResponse encodes a generateContent answer naming model.
func (Adapter) EncodeResponse(r *translate.Response, model string, _ int64) []byte {
	return translate.EncodeGeminiResponse(r, model)
}

// NewStreamDecoder decodes a streamGenerateContent stream.
func (Adapter) NewStreamDecoder() translate.StreamDecoder {
	return translate.NewDecoder(translate.Gemini)
}

// NewStreamEncoder encodes a streamGenerateContent stream.
func (Adapter) NewStreamEncoder(o translate.EncoderOptions) translate.StreamEncoder {
	return translate.NewEncoder(translate.Gemini, o)
}

// Usage reads an answer's usageMetadata.
func (Adapter) Usage(body []byte) (translate.Usage, bool) {
	return translate.UsageOf(translate.Gemini, body)
}

// TokenCount is countTokens' answer.
func (Adapter) TokenCount(n int64) []byte {
	return append(strconv.AppendInt([]byte(`{"totalTokens":`), n, 10), '}')
}

// Error reads an error body's message and status name (as its type).
func (Adapter) Error(body []byte) (message, typ, code string) {
	message, typ = ErrorOf(body)
	return message, typ, ""
}

// ModelsURL is the URL of the model list.
func (Adapter) ModelsURL(base string) string { return ModelsURL(base) }

// ModelIDs reads models[].name without "models/".
func (Adapter) ModelIDs(body []byte) []string {
	var out []string
	for _, m := range gjson.GetBytes(body, "models.#.name").Array() {
		out = append(out, strings.TrimPrefix(m.Str, "models/"))
	}
	return out
}

// TestCall is the test call's URL and body.
func (Adapter) TestCall(base, model string) (string, []byte) { return TestCall(base, model) }

// AnswerText is the text of the first candidate's parts.
func (Adapter) AnswerText(body []byte) string { return AnswerText(body) }

// URL builds the URL of a model method from a channel's base URL (the API root, e.g.
// https://generativelanguage.googleapis.com, with or without /v1beta or /v1). Streams ask for
// server-sent events (?alt=sse).
func URL(base, model, action string) string {
	u := root(base) + "/models/" + url.PathEscape(model) + ":" + action
	if action == "streamGenerateContent" {
		u += "?alt=sse"
	}
	return u
}

// ModelsURL is the URL of the model list (models.list) below a channel's base URL, with or
// without /v1beta or /v1.
func ModelsURL(base string) string { return root(base) + "/models" }

// root is the versioned API root of a base URL: /v1beta is added unless a version is there.
func root(base string) string {
	base = strings.TrimRight(base, "/")
	if !strings.HasSuffix(base, "/v1beta") && !strings.HasSuffix(base, "/v1") {
		base += "/v1beta"
	}
	return base
}

// SetHeaders sets the credential header of an upstream request (CredentialHeader's).
func SetHeaders(h http.Header, credential string) { h.Set(CredentialHeader(credential)) }

// CredentialHeader is the name and value of the credential header of an upstream request.
func CredentialHeader(credential string) (name, value string) { return "X-Goog-Api-Key", credential }

// ErrorOf reads an upstream error body's message and status ({"error":{"code","message",
// "status"}}; Google sometimes wraps it in a one-element array). Other bodies give empty strings.
func ErrorOf(body []byte) (message, status string) {
	root := gjson.ParseBytes(body)
	if root.IsArray() {
		root = root.Get("0")
	}
	e := root.Get("error")
	return e.Get("message").String(), e.Get("status").String()
}

// SplitModelAction splits "<model>:<action>" at its last colon; ok is false without one.
func SplitModelAction(s string) (model, action string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return strings.TrimPrefix(s[:i], "models/"), s[i+1:], true
}

// TestCall is the URL and body of a minimal generateContent asking model openai.TestPrompt.
func TestCall(base, model string) (url string, body []byte) {
	b := append([]byte(nil), `{"contents":[{"role":"user","parts":[{"text":"`+openai.TestPrompt+`"}]}],"generationConfig":{"maxOutputTokens":`...)
	b = strconv.AppendInt(b, openai.TestMaxTokens, 10)
	b = append(b, "}}"...)
	return URL(base, model, "generateContent"), b
}

// AnswerText is the text of the first candidate's parts (thoughts left out).
func AnswerText(body []byte) string {
	var sb strings.Builder
	for _, p := range gjson.GetBytes(body, "candidates.0.content.parts").Array() {
		if !p.Get("thought").Bool() {
			sb.WriteString(p.Get("text").Str)
		}
	}
	return sb.String()
}
