package httpx

import "github.com/labstack/echo/v4"

// Compose wraps h in mw (mw[0] outermost) once. echo applies a route's middleware anew on every
// request, allocating each middleware's closure per call; a route registered with its
// middleware composed beforehand runs the same chain without that.
func Compose(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Chain is mw composed once, for the server's one Echo.Use call. echo applies Use's middleware on
// every request around c.Handler(), the handler its router chose for the request (the route's,
// or its not-found or method-not-allowed handler); Chain's composition ends in that same
// c.Handler() call, so it runs the same chain without building it per call. It must be the only
// middleware given to Echo.Use (a later one would be skipped): the next handler echo passes it
// is ignored.
func Chain(mw ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := Compose(func(c echo.Context) error { return c.Handler()(c) }, mw...)
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}
