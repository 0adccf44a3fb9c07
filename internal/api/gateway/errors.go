package gateway

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/translate"
)

// ErrorShapes renders errors on gateway paths in the caller's protocol's shape: Claude's on
// /v1/messages, Gemini's on /v1beta/ and /v1/models/{model}:{action}, OpenAI's on other /v1/ paths
// and on share links.
func ErrorShapes() []httpx.ShapeRule {
	return []httpx.ShapeRule{
		{Prefix: "/v1/messages", Render: renderClaude},
		{Prefix: "/v1beta/", Render: renderGemini},
		{Prefix: "/v1/", Render: renderV1},
		{Prefix: "/share/", Render: renderOpenAI},
	}
}

var openAITypes = map[fault.Kind]string{
	fault.Invalid: "invalid_request_error", fault.Unauthorized: "authentication_error",
	fault.PaymentRequired: "insufficient_quota", fault.Forbidden: "permission_error",
	fault.NotFound: "invalid_request_error", fault.Conflict: "invalid_request_error",
	fault.TooLarge: "invalid_request_error", fault.Unprocessable: "invalid_request_error",
	fault.MethodNotAllowed: "invalid_request_error",
	fault.RateLimited:      "rate_limit_error", fault.Upstream: "upstream_error", fault.Unavailable: "server_error",
	fault.Internal: "server_error",
}

type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
	// ClearsIn is set on a 429 from a Poolgate limit rule: seconds until the call could start.
	ClearsIn int64 `json:"clears_in,omitempty"`
}

// renderOpenAI writes a fault in OpenAI's error shape.
func renderOpenAI(c echo.Context, status int, e *fault.Error, rid string) error {
	typ := e.Type
	if typ == "" {
		typ = openAITypes[e.Kind]
	}
	msg := e.Message
	if e.Kind == fault.Internal {
		status, typ, msg = http.StatusInternalServerError, "server_error", fault.MsgInternal+" (request id "+rid+")"
	}
	var param *string
	switch {
	case e.Param != "":
		param = &e.Param
	case e.Type == "" && (strings.HasPrefix(e.Code, "model_") || e.Code == "missing_model"):
		p := "model"
		param = &p
	}
	return c.JSON(status, openAIError{Error: openAIErrorBody{Message: msg, Type: typ, Param: param, Code: e.Code, ClearsIn: e.ClearsIn}})
}

type claudeError struct {
	Type  string          `json:"type"`
	Error claudeErrorBody `json:"error"`
}

type claudeErrorBody struct {
	Type     string `json:"type"`
	Message  string `json:"message"`
	ClearsIn int64  `json:"clears_in,omitempty"`
}

// renderClaude writes a fault in Claude's error shape.
func renderClaude(c echo.Context, status int, e *fault.Error, rid string) error {
	msg := e.Message
	typ := e.Type
	if e.Kind == fault.Internal {
		status, msg, typ = http.StatusInternalServerError, fault.MsgInternal+" (request id "+rid+")", ""
	}
	if typ == "" {
		typ = translate.ClaudeErrorType(status)
	}
	return c.JSON(status, claudeError{Type: "error", Error: claudeErrorBody{Type: typ, Message: msg, ClearsIn: e.ClearsIn}})
}

type geminiError struct {
	Error geminiErrorBody `json:"error"`
}

type geminiErrorBody struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	Status   string `json:"status"`
	ClearsIn int64  `json:"clears_in,omitempty"`
}

// renderGemini writes a fault in Gemini's error shape.
func renderGemini(c echo.Context, status int, e *fault.Error, rid string) error {
	msg := e.Message
	name := e.Type
	if e.Kind == fault.Internal {
		status, msg, name = http.StatusInternalServerError, fault.MsgInternal+" (request id "+rid+")", ""
	}
	if name == "" {
		name = translate.GeminiStatus(status)
	}
	return c.JSON(status, geminiError{Error: geminiErrorBody{Code: status, Message: msg, Status: name, ClearsIn: e.ClearsIn}})
}

// renderV1 writes faults on /v1/ paths: Gemini's shape on /v1/models/{model}:{action}; on the
// models routes all three SDKs share, the shape of the caller's (callerOf); else OpenAI's.
func renderV1(c echo.Context, status int, e *fault.Error, rid string) error {
	r := c.Request()
	if isGeminiPath(r.Method, r.URL.Path) {
		return renderGemini(c, status, e, rid)
	}
	if strings.HasPrefix(r.URL.Path, "/v1/models") {
		switch callerOf(r) {
		case callerClaude:
			return renderClaude(c, status, e, rid)
		case callerGemini:
			return renderGemini(c, status, e, rid)
		}
	}
	return renderOpenAI(c, status, e, rid)
}

// isGeminiPath reports whether a /v1/ request is Gemini's POST /v1/models/{model}:{action}
// (whatever its last segment holds: the contract answers every error of it in Gemini's shape).
func isGeminiPath(method, path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/models/")
	return ok && (method == http.MethodPost || strings.Contains(rest, ":"))
}
