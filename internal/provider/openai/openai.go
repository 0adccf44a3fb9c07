// Package openai is the adapter of the OpenAI wire format (chat completions, and the other
// OpenAI endpoints relayed unchanged): it prepares relayed request bodies, reads usage from
// answers and stream events, reads upstream error bodies, lists models and makes the test call.
// Adapter implements provider.Adapter. It works on bytes and net/http types only; conversion to
// and from other protocols lives in internal/translate.
package openai

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolgate/poolgate/internal/jsonx"
	"github.com/poolgate/poolgate/internal/translate"
)

// Request is what the gateway needs to know of a chat completion request without decoding it.
type Request struct {
	Model        string
	Stream       bool
	IncludeUsage bool // the caller asked for the usage chunk
	// Knobs are the request's sampling and length members (absent ones are the zero Result), read
	// in the same pass for the gateway's bounds checks. They point into a copy of the body.
	Knobs [len(KnobNames)]gjson.Result
	// Meta are the other members the gateway reads of a body (MetaNames), from the same pass, so
	// that no lookup walks the body again (a long conversation is tens of kilobytes).
	Meta [len(MetaNames)]gjson.Result
}

// KnobNames name the members in Request.Knobs, in order: OpenAI's and Claude's sampling and
// length parameters (each protocol bounds its own).
var KnobNames = [...]string{"temperature", "top_p", "top_k", "n", "max_tokens", "max_completion_tokens"}

// Indexes of the length knobs in KnobNames.
const (
	KnobMaxTokens           = 4
	KnobMaxCompletionTokens = 5
)

// MetaNames name the members in Request.Meta, in order: the output caps of the Responses API and
// of Gemini's generation config (either spelling), and the members a conversation is known by
// (pool.Session).
var MetaNames = [...]string{"max_output_tokens", "generationConfig", "generation_config", "metadata", "prompt_cache_key", "user"}

// Indexes in MetaNames.
const (
	MetaMaxOutputTokens = iota
	MetaGenerationConfig
	MetaGenerationConfigSnake
	MetaMetadata
	MetaPromptCacheKey
	MetaUser
)

// ParseRequest reads model and stream flags from a request body. ok is false when the body is
// not a JSON object.
func ParseRequest(body []byte) (r Request, ok bool) {
	var f [len(requestFields)]gjson.Result
	if !jsonx.ParseMembers(body, requestFields[:], f[:]) {
		return r, false
	}
	if f[0].Type == gjson.String {
		r.Model = f[0].Str
	}
	r.Stream = f[1].Type == gjson.True
	r.IncludeUsage = f[2].Get("include_usage").Type == gjson.True
	copy(r.Knobs[:], f[3:])
	copy(r.Meta[:], f[3+len(KnobNames):])
	return r, true
}

// requestFields are the members ParseRequest reads, in one validating pass: model, stream and
// stream_options, then KnobNames, then MetaNames.
var requestFields = func() (names [3 + len(KnobNames) + len(MetaNames)]string) {
	copy(names[:], []string{"model", "stream", "stream_options"})
	copy(names[3:], KnobNames[:])
	copy(names[3+len(KnobNames):], MetaNames[:])
	return names
}()

// ModelIsString reports whether "model" is present and a string.
func ModelIsString(body []byte) bool {
	return gjson.GetBytes(body, "model").Type == gjson.String
}

// WithStreamUsage returns the body with stream_options.include_usage set, so the upstream reports
// usage at the end of a stream. Other bytes are kept as they are.
func WithStreamUsage(body []byte) ([]byte, error) {
	if out, ok := appendStreamUsage(body); ok {
		return out, nil
	}
	return sjson.SetBytes(body, "stream_options.include_usage", true)
}

// streamUsageMember is the member WithStreamUsage adds to a body without stream_options.
const streamUsageMember = `"stream_options":{"include_usage":true}`

// appendStreamUsage is sjson.SetBytes(body, "stream_options.include_usage", true) for the
// common body, an object without stream_options, in one allocation (sjson makes two): the same
// bytes, the object without the whitespace around it, the member added before its closing brace
// (after a comma unless the object is empty). ok is false for any other body.
func appendStreamUsage(body []byte) ([]byte, bool) {
	start := 0
	for start < len(body) && body[start] <= ' ' {
		start++
	}
	end := bytes.LastIndexByte(body, '}')
	if start >= len(body) || body[start] != '{' || end <= start || gjson.GetBytes(body, "stream_options").Exists() {
		return nil, false
	}
	comma := false
	for _, c := range body[start+1:] {
		if c > ' ' {
			comma = c != '}' && c != ']'
			break
		}
	}
	out := make([]byte, 0, end-start+len(streamUsageMember)+2)
	out = append(out, body[start:end]...)
	if comma {
		out = append(out, ',')
	}
	out = append(out, streamUsageMember...)
	return append(out, '}'), true
}

// WithModel returns the body with "model" replaced.
func WithModel(body []byte, model string) ([]byte, error) {
	return sjson.SetBytes(body, "model", model)
}

// UsageOf reads "usage" from a JSON object (a completion or a stream chunk). ok is false when
// the object carries no usage (absent or null).
func UsageOf(obj []byte) (translate.Usage, bool) { return translate.UsageOf(translate.OpenAI, obj) }

// IsUsageOnlyChunk reports whether a stream chunk is the trailing usage chunk (no choices), which
// is withheld from callers that did not ask for it.
func IsUsageOnlyChunk(obj []byte) bool {
	ch := gjson.GetBytes(obj, "choices")
	return ch.IsArray() && len(ch.Array()) == 0 && gjson.GetBytes(obj, "usage").IsObject()
}

// Adapter is the OpenAI protocol's provider.Adapter.
type Adapter struct{}

// Protocol is translate.OpenAI.
func (Adapter) Protocol() translate.Protocol { return translate.OpenAI }

// URL joins a channel's base URL, which for OpenAI-compatible providers includes the version
// (https://api.openai.com/v1), and an API path ("/chat/completions").
func (Adapter) URL(base, _, path string) string { return base + path }

// ChatPath is "/chat/completions".
func (Adapter) ChatPath(bool) string { return "/chat/completions" }

// SetHeaders sets the bearer credential.
func (Adapter) SetHeaders(h, _ http.Header, credential string) { SetHeaders(h, credential) }

// CredentialHeader is the one header SetHeaders sets (provider.CredentialHeaderer).
func (Adapter) CredentialHeader(credential string) (name, value string) {
	return CredentialHeader(credential)
}

// WithModel returns the body with "model" replaced.
func (Adapter) WithModel(body []byte, model string) ([]byte, error) { return WithModel(body, model) }

// WithStreamUsage sets stream_options.include_usage.
func (Adapter) WithStreamUsage(body []byte) ([]byte, error) { return WithStreamUsage(body) }

// DecodeRequest decodes a chat completion request.
func (Adapter) DecodeRequest(body []byte, _ string, _ bool) (*translate.Request, error) {
	return translate.DecodeOpenAIRequest(body)
}

// EncodeRequest encodes a chat completion request.
func (Adapter) EncodeRequest(r *translate.Request) []byte { return translate.EncodeOpenAIRequest(r) }

// DecodeResponse decodes a chat completion.
func (Adapter) DecodeResponse(body []byte) (*translate.Response, error) {
	return translate.DecodeOpenAIResponse(body)
}

// EncodeResponse encodes a chat completion naming model.
func (Adapter) EncodeResponse(r *translate.Response, model string, created int64) []byte {
	r.Model = model
	return translate.EncodeOpenAIResponse(r, created)
}

// NewStreamDecoder decodes a chat completion stream.
func (Adapter) NewStreamDecoder() translate.StreamDecoder {
	return translate.NewDecoder(translate.OpenAI)
}

// NewStreamEncoder encodes a chat completion stream.
func (Adapter) NewStreamEncoder(o translate.EncoderOptions) translate.StreamEncoder {
	return translate.NewEncoder(translate.OpenAI, o)
}

// Usage reads a completion's usage.
func (Adapter) Usage(body []byte) (translate.Usage, bool) { return UsageOf(body) }

// TokenCount is nil: OpenAI has no token count call.
func (Adapter) TokenCount(int64) []byte { return nil }

// Error reads an error body's message, type and code.
func (Adapter) Error(body []byte) (message, typ, code string) { return ErrorOf(body) }

// ModelsURL is the URL of the model list.
func (Adapter) ModelsURL(base string) string { return ModelsURL(base) }

// ModelIDs reads data[].id.
func (Adapter) ModelIDs(body []byte) []string { return ModelIDs(body) }

// TestCall is the test call's URL and body.
func (Adapter) TestCall(base, model string) (string, []byte) { return TestCall(base, model) }

// AnswerText is the text of a completion's first choice.
func (Adapter) AnswerText(body []byte) string { return AnswerText(body) }

// ModelIDs reads the model names of an OpenAI-style model list (data[].id), which Anthropic's
// list shares.
func ModelIDs(body []byte) []string {
	var out []string
	for _, m := range gjson.GetBytes(body, "data.#.id").Array() {
		out = append(out, m.Str)
	}
	return out
}

// ModelsURL is the URL of the model list below a channel's base URL, which for OpenAI-compatible
// providers includes the version (https://api.openai.com/v1).
func ModelsURL(base string) string { return strings.TrimRight(base, "/") + "/models" }

// SetHeaders sets the credential header of an upstream request (CredentialHeader's).
func SetHeaders(h http.Header, credential string) { h.Set(CredentialHeader(credential)) }

// CredentialHeader is the name and value of the credential header of an upstream request.
func CredentialHeader(credential string) (name, value string) {
	return "Authorization", "Bearer " + credential
}

// ErrorOf reads an upstream error body's message, type and code. Bodies that are not OpenAI
// errors give empty strings.
func ErrorOf(body []byte) (message, typ, code string) {
	e := gjson.GetBytes(body, "error")
	if e.Type == gjson.String {
		return e.Str, "", ""
	}
	return e.Get("message").String(), e.Get("type").String(), e.Get("code").String()
}

// TestPrompt is what a test call asks (pool.TestCall), and TestMaxTokens bounds its answer.
const (
	TestPrompt    = "Say hi."
	TestMaxTokens = 16
)

// TestCall is the URL and body of a minimal chat completion asking model TestPrompt.
func TestCall(base, model string) (url string, body []byte) {
	b := jsonx.AppendString([]byte(`{"model":`), model)
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, TestMaxTokens, 10)
	b = append(b, `,"messages":[{"role":"user","content":"`+TestPrompt+`"}]}`...)
	return strings.TrimRight(base, "/") + "/chat/completions", b
}

// AnswerText is the text of a chat completion's first choice.
func AnswerText(body []byte) string {
	return gjson.GetBytes(body, "choices.0.message.content").String()
}
