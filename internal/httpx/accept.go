package httpx

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"
)

type acceptKey struct{}

// KeepAccept puts the request's Accept header in its context, for handlers (strict ones see no
// headers the spec cannot declare) that answer a browser and a program differently.
func KeepAccept(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if a := r.Header.Get(echo.HeaderAccept); a != "" {
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), acceptKey{}, a)))
		}
		return next(c)
	}
}

// WantsJSON reports whether the request asked for JSON: an Accept header that names
// application/json and not text/html before it (a browser's navigation asks for HTML first).
func WantsJSON(ctx context.Context) bool {
	a, _ := ctx.Value(acceptKey{}).(string)
	j := strings.Index(a, "application/json")
	if j < 0 {
		return false
	}
	h := strings.Index(a, "text/html")
	return h < 0 || j < h
}
