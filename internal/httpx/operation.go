package httpx

import "github.com/labstack/echo/v4"

// operationKey is where the composition root's middleware keeps the request's operationId (from
// the contract that serves the route) on the echo context.
const operationKey = "httpx.operation_id"

// SetOperationID records the request's operationId (nil: none) for the access log and the error
// renderer.
func SetOperationID(c echo.Context, id *string) {
	if id != nil {
		c.Set(operationKey, id)
	}
}

// OperationID is the request's operationId ("" when its route is in no contract).
func OperationID(c echo.Context) string {
	if id, ok := c.Get(operationKey).(*string); ok {
		return *id
	}
	return ""
}
