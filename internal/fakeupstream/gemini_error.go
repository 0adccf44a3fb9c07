package fakeupstream

import (
	"net/http"
	"strconv"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// writeStatus writes Gemini's error object with an explicit status name.
func (g *gemini) writeStatus(x *exchange, status int, message, name string) {
	b := x.scratch.out[:0]
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = jsonx.AppendString(b, message)
	b = append(b, `,"status":"`+name+`"}}`+"\n"...)
	x.scratch.out = b
	g.writeRaw(x, status, b)
}

// writeError writes a 400 INVALID_ARGUMENT.
func (g *gemini) writeError(x *exchange, status int, message string) {
	g.writeStatus(x, status, message, "INVALID_ARGUMENT")
}

// unauthorized answers as the Gemini API does for a bad key: 400 INVALID_ARGUMENT (API_KEY_INVALID),
// or 403 PERMISSION_DENIED when no key was sent.
func (g *gemini) unauthorized(x *exchange) {
	if x.credential == "" {
		g.writeStatus(x, http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established "+
			"identity). Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED")
		return
	}
	b := []byte(`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",` +
		`"domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}` + "\n")
	g.writeRaw(x, http.StatusBadRequest, b)
}

func (g *gemini) noRoute(x *exchange, status int) {
	if status == http.StatusMethodNotAllowed {
		g.writeStatus(x, status, "Method not allowed", "INVALID_ARGUMENT")
		return
	}
	g.writeStatus(x, status, "Requested entity was not found.", "NOT_FOUND")
}

// statusError answers status with the body Gemini sends for it.
func (g *gemini) statusError(x *exchange, status int) {
	switch status {
	case http.StatusBadRequest:
		g.writeError(x, status, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).")
	case http.StatusUnauthorized:
		g.writeStatus(x, status, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
	case http.StatusForbidden:
		g.writeStatus(x, status, "The caller does not have permission", "PERMISSION_DENIED")
	case http.StatusNotFound:
		g.writeStatus(x, status, "models/"+modelOf(x.r.URL.Path)+" is not found for API version v1beta, or is not "+
			"supported for generateContent.", "NOT_FOUND")
	case http.StatusTooManyRequests:
		setDefault(x.w.Header(), "Retry-After", []string{"1"})
		g.writeStatus(x, status, "You exceeded your current quota, please check your plan and billing details.", "RESOURCE_EXHAUSTED")
	case http.StatusInternalServerError:
		g.writeStatus(x, status, "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "INTERNAL")
	case http.StatusServiceUnavailable:
		g.writeStatus(x, status, "The model is overloaded. Please try again later.", "UNAVAILABLE")
	case http.StatusGatewayTimeout:
		g.writeStatus(x, status, "Deadline expired before operation could complete.", "DEADLINE_EXCEEDED")
	default:
		name := "INVALID_ARGUMENT"
		if status >= 500 {
			name = "INTERNAL"
		}
		msg := http.StatusText(status)
		if msg == "" {
			msg = "Unexpected status " + strconv.Itoa(status)
		}
		g.writeStatus(x, status, msg, name)
	}
}
