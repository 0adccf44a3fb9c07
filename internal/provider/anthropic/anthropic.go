// Package anthropic speaks the Anthropic (Claude) Messages wire format towards upstreams: request
// URLs and headers, and error bodies. It works on bytes and net/http types only; conversion to
// and from other protocols lives in internal/translate.
package anthropic

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
	"github.com/poolgate/poolgate/internal/provider/openai"
)

// DefaultVersion is the anthropic-version sent when the caller gave none.
const DefaultVersion = "2023-06-01"

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
