package httpx

import "github.com/labstack/echo/v4"

// Router adds a contract's middleware to every route the generated RegisterHandlers adds, so
// each contract has its own validator and auth without a catch-all group. Each route's
// middleware is composed once, when it is added (Compose).
type Router struct {
	E  *echo.Echo
	MW []echo.MiddlewareFunc
}

func (r Router) with(h echo.HandlerFunc, m []echo.MiddlewareFunc) echo.HandlerFunc {
	return Compose(h, append(append([]echo.MiddlewareFunc{}, r.MW...), m...)...)
}

// CONNECT adds a route with the contract's middleware.
func (r Router) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.CONNECT(p, r.with(h, m))
}

// DELETE adds a route with the contract's middleware.
func (r Router) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.DELETE(p, r.with(h, m))
}

// GET adds a route with the contract's middleware.
func (r Router) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.GET(p, r.with(h, m))
}

// HEAD adds a route with the contract's middleware.
func (r Router) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.HEAD(p, r.with(h, m))
}

// OPTIONS adds a route with the contract's middleware.
func (r Router) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.OPTIONS(p, r.with(h, m))
}

// PATCH adds a route with the contract's middleware.
func (r Router) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.PATCH(p, r.with(h, m))
}

// POST adds a route with the contract's middleware.
func (r Router) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.POST(p, r.with(h, m))
}

// PUT adds a route with the contract's middleware.
func (r Router) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.PUT(p, r.with(h, m))
}

// TRACE adds a route with the contract's middleware.
func (r Router) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.E.TRACE(p, r.with(h, m))
}
