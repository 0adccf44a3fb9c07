// Package gemini speaks the Google Gemini (generateContent) wire format towards upstreams: request
// URLs and headers, and error bodies. It works on bytes and net/http types only; conversion to
// and from other protocols lives in internal/translate.
package gemini

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/provider/openai"
)

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

// SetHeaders sets the credential header of an upstream request.
func SetHeaders(h http.Header, credential string) {
	h.Set("X-Goog-Api-Key", credential)
}

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
