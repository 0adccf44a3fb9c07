package httpx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// Renderer writes a fault in one contract's error shape.
type Renderer func(c echo.Context, status int, e *fault.Error, requestID string) error

// ShapeRule picks a Renderer for requests whose path starts with Prefix.
type ShapeRule struct {
	Prefix string
	Render Renderer
}

// ErrorHandler is echo's one error handler: it classifies err (fault, echo error, or unexpected),
// logs 5xx at error and 4xx at warn with the request id, and renders it in the shape chosen by the
// first rule whose prefix matches the path (the management shape otherwise). Unexpected errors
// become a generic 500 carrying only the request id.
func ErrorHandler(log *slog.Logger, rules ...ShapeRule) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		fe := classify(err)
		status := fe.Status()
		rid := c.Response().Header().Get(HeaderRequestID)
		attrs := []any{"request_id", rid, "operation_id", OperationID(c), "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", status, "code", fe.Code}
		if status >= 500 {
			log.Error("request failed", append(attrs, "error", err.Error())...)
		} else {
			log.Warn("request refused", append(attrs, "error", fe.Message)...)
		}
		if fe.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", fe.RetryAfter)
		}
		render := Management
		for _, r := range rules {
			if strings.HasPrefix(c.Request().URL.Path, r.Prefix) {
				render = r.Render
				break
			}
		}
		if rerr := render(c, status, fe, rid); rerr != nil {
			log.Error("render error", "request_id", rid, "error", rerr)
		}
	}
}

func classify(err error) *fault.Error {
	if fe, ok := fault.As(err); ok {
		return fe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if fe, ok := fault.As(he.Internal); ok {
			return fe
		}
		var inner *echo.HTTPError
		if errors.As(he.Internal, &inner) && inner.Code == http.StatusRequestEntityTooLarge {
			return fault.New(fault.TooLarge, "request body is too large")
		}
		msg := fmt.Sprint(he.Message)
		switch he.Code {
		case http.StatusBadRequest:
			code := "invalid_request"
			if strings.Contains(msg, "decode") || strings.Contains(strings.ToLower(msg), "syntax") ||
				strings.Contains(msg, "unmarshal") {
				code = "invalid_json"
			}
			return fault.Code(fault.Invalid, code, BoundMessage(cleanValidation(msg)))
		case http.StatusUnauthorized:
			return fault.New(fault.Unauthorized, MsgUnauthorized)
		case http.StatusForbidden:
			return fault.New(fault.Forbidden, MsgForbidden)
		case http.StatusNotFound:
			return fault.New(fault.NotFound, "no such route")
		case http.StatusMethodNotAllowed:
			return fault.New(fault.MethodNotAllowed, "method not allowed")
		case http.StatusRequestEntityTooLarge:
			return fault.New(fault.TooLarge, "request body is too large")
		case http.StatusUnsupportedMediaType:
			return fault.Code(fault.Invalid, "unsupported_media_type", "the body must be application/json")
		case http.StatusTooManyRequests:
			return fault.New(fault.RateLimited, "too many requests")
		case http.StatusServiceUnavailable:
			return fault.New(fault.Unavailable, "service temporarily unavailable")
		}
		if he.Code >= 400 && he.Code < 500 {
			return fault.New(fault.Invalid, BoundMessage(msg))
		}
	}
	if fe, ok := fault.As(store.Translate(err, "")); ok {
		return fe // a database error: not found, conflict, invalid, unavailable
	}
	return fault.Wrap(fault.Internal, fault.MsgInternal, err)
}

// cleanValidation shortens kin-openapi's messages to the useful part.
func cleanValidation(msg string) string {
	msg = strings.TrimPrefix(msg, "request body has an error: ")
	msg = strings.TrimPrefix(msg, "doesn't match schema: ")
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "\nValue:"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// The seed's messages for missing/invalid and non-administrator credentials.
const (
	MsgUnauthorized = "密钥无效或已失效,请重新登录"
	MsgForbidden    = "需要管理员权限才能执行这个操作"
)

// ErrorBody is the management error shape.
type ErrorBody struct {
	Detail ErrorDetail `json:"detail"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// Management renders `{"detail": {"error", "code", "request_id"}}`; the request id is included on
// server errors.
func Management(c echo.Context, _ int, e *fault.Error, rid string) error {
	status := e.Status()
	d := ErrorDetail{Error: e.Message, Code: e.Code}
	if status >= 500 {
		d.RequestID = rid
	}
	return c.JSON(status, ErrorBody{Detail: d})
}

// maxMessage bounds an error message that may quote what the caller sent.
const maxMessage = 300

// BoundMessage cuts msg to maxMessage bytes at a character boundary: an error never repeats
// more than that of a caller's value.
func BoundMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}
