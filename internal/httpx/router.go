package httpx

import "github.com/labstack/echo/v4"

// Router adds a contract's middleware to every route the generated RegisterHandlers adds, so
// each contract has its own validator and auth without a catch-all group.
type Router struct {
	E  *echo.Echo
	MW []echo.MiddlewareFunc
}

func (r Router) with(m []echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append(append([]echo.MiddlewareFunc{}, r.MW...), m...)
}

// CONNECT adds a route with the contract's middleware.
func (r Router) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.CONNECT(p, h, r.with(m)...)
}

// DELETE adds a route with the contract's middleware.
func (r Router) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.DELETE(p, h, r.with(m)...)
}

// GET adds a route with the contract's middleware.
func (r Router) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.GET(p, h, r.with(m)...)
}

// HEAD adds a route with the contract's middleware.
func (r Router) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.HEAD(p, h, r.with(m)...)
}

// OPTIONS adds a route with the contract's middleware.
func (r Router) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.OPTIONS(p, h, r.with(m)...)
}

// PATCH adds a route with the contract's middleware.
func (r Router) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.PATCH(p, h, r.with(m)...)
}

// POST adds a route with the contract's middleware.
func (r Router) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.POST(p, h, r.with(m)...)
}

// PUT adds a route with the contract's middleware.
func (r Router) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.PUT(p, h, r.with(m)...)
}

// TRACE adds a route with the contract's middleware.
func (r Router) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.TRACE(p, h, r.with(m)...)
}
