package httpx

import (
	"context"

	"github.com/labstack/echo/v4"
)

// operationKey is where the composition root's middleware keeps the request's operationId (from
// the contract that serves the route) on the echo context.
const operationKey = "httpx.operation_id"

// SetOperationID records the request's operationId (nil: none) for the access log, the error
// renderer and every log line written with the request's context (ContextHandler). Behind
// RequestID it completes the request's context value in place (no copy of the request); it must
// run before the handler hands the context to anything else.
func SetOperationID(c echo.Context, id *string) {
	if id == nil {
		return
	}
	if ri := infoFrom(c.Request().Context()); ri != nil {
		ri.op = *id
		return
	}
	c.Set(operationKey, id)
	r := c.Request()
	c.SetRequest(r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqInfo{op: *id})))
}

// OperationID is the request's operationId ("" when its route is in no contract).
func OperationID(c echo.Context) string {
	if ri := infoFrom(c.Request().Context()); ri != nil && ri.op != "" {
		return ri.op
	}
	if id, ok := c.Get(operationKey).(*string); ok {
		return *id
	}
	return ""
}

// OperationIDFrom returns the operationId stored in ctx by SetOperationID, or "".
func OperationIDFrom(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.op
	}
	return ""
}
