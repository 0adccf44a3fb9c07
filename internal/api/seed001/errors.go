package seed001

import (
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

// ErrorShapes renders errors on seed 001's paths in its (FastAPI's) shape, `{"detail": "..."}`,
// completed with Poolgate's stable code.
func ErrorShapes() []httpx.ShapeRule {
	return []httpx.ShapeRule{
		{Prefix: "/api/auth/", Render: render},
		{Prefix: "/api/health", Render: render},
		{Prefix: "/api/api-keys", Render: render},
		{Prefix: "/api/plugin-api/", Render: render},
	}
}

type errorBody struct {
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	ClearsIn  int64  `json:"clears_in,omitempty"`
}

func render(c echo.Context, _ int, e *fault.Error, rid string) error {
	status := e.Status()
	b := errorBody{Detail: e.Message, Code: e.Code, ClearsIn: e.ClearsIn}
	if status >= 500 {
		b.RequestID = rid
	}
	if e.Kind == fault.Internal {
		b.Detail = fault.MsgInternal
	}
	return c.JSON(status, b)
}
