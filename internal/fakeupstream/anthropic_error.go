package fakeupstream

import (
	"net/http"
	"strconv"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// ClaudeOverloadedEvent is the error event Claude sends when it fails mid-stream. Tests append
// it to a stream with Reply{Status: 200, ...} via a custom body, or check a gateway's mapping.
const ClaudeOverloadedEvent = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"

// writeError writes Claude's error object.
func (a *anthropic) writeError(x *exchange, status int, typ, message string) {
	b := x.scratch.out[:0]
	b = append(b, `{"type":"error","error":{"type":`...)
	b = jsonx.AppendString(b, typ)
	b = append(b, `,"message":`...)
	b = jsonx.AppendString(b, message)
	b = append(b, `},"request_id":"req_`...)
	b = appendID(b, 24)
	b = append(b, "\"}\n"...)
	x.scratch.out = b
	a.writeRaw(x, status, b)
}

func (a *anthropic) unauthorized(x *exchange) {
	a.writeError(x, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
}

func (a *anthropic) noRoute(x *exchange, status int) {
	if status == http.StatusMethodNotAllowed {
		a.writeError(x, status, "invalid_request_error", "Method Not Allowed")
		return
	}
	a.writeError(x, status, "not_found_error", "Not Found")
}

// statusError answers status with the body and headers Claude sends for it.
func (a *anthropic) statusError(x *exchange, status int) {
	switch status {
	case http.StatusBadRequest:
		a.writeError(x, status, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")
	case http.StatusUnauthorized:
		a.unauthorized(x)
	case http.StatusForbidden:
		a.writeError(x, status, "permission_error", "Your API key does not have permission to use the specified resource.")
	case http.StatusNotFound:
		a.writeError(x, status, "not_found_error", "model: "+jsonField(x.body, "model"))
	case http.StatusRequestEntityTooLarge:
		a.writeError(x, status, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
	case http.StatusTooManyRequests:
		h := x.w.Header()
		setDefault(h, "Retry-After", []string{"1"})
		setDefault(h, "Anthropic-Ratelimit-Requests-Remaining", []string{"0"})
		a.writeError(x, status, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")
	case 529:
		a.writeError(x, status, "overloaded_error", "Overloaded")
	case http.StatusInternalServerError:
		a.writeError(x, status, "api_error", "Internal server error")
	default:
		typ := "invalid_request_error"
		if status >= 500 {
			typ = "api_error"
		}
		msg := http.StatusText(status)
		if msg == "" {
			msg = "Unexpected status " + strconv.Itoa(status)
		}
		a.writeError(x, status, typ, msg)
	}
}
