// Package openai speaks the OpenAI wire format towards upstreams: it prepares relayed request
// bodies, reads usage from answers and stream events, and reads upstream error bodies. It works
// on bytes and net/http types only.
package openai

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// Usage is the token usage OpenAI reports.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	ReasoningTokens  int64
}

// Request is what the gateway needs to know of a chat completion request without decoding it.
type Request struct {
	Model        string
	Stream       bool
	IncludeUsage bool // the caller asked for the usage chunk
	// Knobs are the request's sampling and length members (absent ones are the zero Result), read
	// in the same pass for the gateway's bounds checks. They point into a copy of the body.
	Knobs [len(KnobNames)]gjson.Result
}

// KnobNames name the members in Request.Knobs, in order: OpenAI's and Claude's sampling and
// length parameters (each protocol bounds its own).
var KnobNames = [...]string{"temperature", "top_p", "top_k", "n", "max_tokens", "max_completion_tokens"}

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
	return r, true
}

// requestFields are the members ParseRequest reads, in one validating pass.
var requestFields = [...]string{"model", "stream", "stream_options",
	KnobNames[0], KnobNames[1], KnobNames[2], KnobNames[3], KnobNames[4], KnobNames[5]}

// ModelIsString reports whether "model" is present and a string.
func ModelIsString(body []byte) bool {
	return gjson.GetBytes(body, "model").Type == gjson.String
}

// WithStreamUsage returns the body with stream_options.include_usage set, so the upstream reports
// usage at the end of a stream. Other bytes are kept as they are.
func WithStreamUsage(body []byte) ([]byte, error) {
	return sjson.SetBytes(body, "stream_options.include_usage", true)
}

// WithModel returns the body with "model" replaced.
func WithModel(body []byte, model string) ([]byte, error) {
	return sjson.SetBytes(body, "model", model)
}

// UsageOf reads "usage" from a JSON object (a completion or a stream chunk). ok is false when
// the object carries no usage (absent or null).
func UsageOf(obj []byte) (u Usage, ok bool) {
	res := gjson.GetBytes(obj, "usage")
	if !res.IsObject() {
		return u, false
	}
	u.PromptTokens = res.Get("prompt_tokens").Int()
	u.CompletionTokens = res.Get("completion_tokens").Int()
	u.CachedTokens = res.Get("prompt_tokens_details.cached_tokens").Int()
	u.ReasoningTokens = res.Get("completion_tokens_details.reasoning_tokens").Int()
	return u, true
}

// IsUsageOnlyChunk reports whether a stream chunk is the trailing usage chunk (no choices), which
// is withheld from callers that did not ask for it.
func IsUsageOnlyChunk(obj []byte) bool {
	ch := gjson.GetBytes(obj, "choices")
	return ch.IsArray() && len(ch.Array()) == 0 && gjson.GetBytes(obj, "usage").IsObject()
}

// ModelsURL is the URL of the model list below a channel's base URL, which for OpenAI-compatible
// providers includes the version (https://api.openai.com/v1).
func ModelsURL(base string) string { return strings.TrimRight(base, "/") + "/models" }

// SetHeaders sets the credential header of an upstream request.
func SetHeaders(h http.Header, credential string) { h.Set("Authorization", "Bearer "+credential) }

// ErrorOf reads an upstream error body's message, type and code. Bodies that are not OpenAI
// errors give empty strings.
func ErrorOf(body []byte) (message, typ, code string) {
	e := gjson.GetBytes(body, "error")
	if e.Type == gjson.String {
		return e.Str, "", ""
	}
	return e.Get("message").String(), e.Get("type").String(), e.Get("code").String()
}

// keyPrefixes start the credentials providers echo back in error messages.
var keyPrefixes = [][]byte{[]byte("sk-"), []byte("sk_"), []byte("AIza"), []byte("xai-"), []byte("Bearer ")}

// Redact removes the secret, and any word that looks like a provider credential (masked or not),
// from an upstream message before it is shown to a caller.
func Redact(s, secret string) string {
	out := []byte(s)
	if len(secret) >= 6 {
		out = bytes.ReplaceAll(out, []byte(secret), []byte("[redacted]"))
	}
	for _, p := range keyPrefixes {
		for from := 0; ; {
			i := bytes.Index(out[from:], p)
			if i < 0 {
				break
			}
			i += from
			j := i + len(p)
			for j < len(out) && !isWordEnd(out[j]) {
				j++
			}
			out = append(out[:i], append([]byte("[redacted]"), out[j:]...)...)
			from = i + len("[redacted]")
		}
	}
	return string(out)
}

func isWordEnd(c byte) bool {
	return c == ' ' || c == '"' || c == '\'' || c == ',' || c == '\n' || c == ')' || c == '('
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
