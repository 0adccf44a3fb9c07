// Package httpx holds Poolgate's HTTP plumbing: request ids, the access log, panic recovery and
// the one error renderer that answers in each contract's error shape.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/inbound"
)

// HeaderRequestID carries the request id on every response.
const HeaderRequestID = "X-Request-Id"

type ctxKey struct{}

// IDGen makes request ids that are unique across instances and restarts: a random per-process
// prefix and a counter. Ids are never taken from the client, because usage records are keyed by
// them.
type IDGen struct {
	prefix string
	n      atomic.Uint64
}

// NewIDGen makes a generator with a fresh random prefix.
func NewIDGen() *IDGen {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return &IDGen{prefix: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)}
}

// Next returns a new id.
func (g *IDGen) Next() string {
	var buf [40]byte
	out := append(buf[:0], g.prefix...)
	out = append(out, '-')
	out = strconv.AppendUint(out, g.n.Add(1), 36)
	return string(out)
}

// reqInfo is what the plumbing keeps about a request in its context: one value, added once by
// RequestID and completed by SetOperationID (and SetLocal) before the handler runs, so the request
// is copied once per call rather than once per field, and echo's per-request store (a map made
// for each request that sets anything in it) stays unused on the gateway's routes.
type reqInfo struct {
	id, op string
	local  any // what a route's middleware hands its handler (SetLocal)
}

// RequestID assigns each request an id, sets the response header and stores it in the request
// context (RequestIDFrom reads it).
func RequestID(gen *IDGen) echo.MiddlewareFunc { return RequestIDWith(gen, nil) }

// RequestIDWith is RequestID that also adds with's values to the request context in the same
// step (nil: none): the request is copied once for all of them, and not at all when Poolgate's
// own server serves it (inbound.SetContext).
func RequestIDWith(gen *IDGen, with func(ctx context.Context, c echo.Context) context.Context) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := gen.Next()
			r := c.Request()
			ic := &infoCtx{Context: r.Context(), info: reqInfo{id: id}, header: [1]string{id}}
			c.Response().Header()[HeaderRequestID] = ic.header[:] // Set, with ic's backing
			var ctx context.Context = ic
			if with != nil {
				ctx = with(ctx, c)
			}
			if !inbound.SetContext(r, ctx) { // served by net/http (tests): the usual copy
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// infoCtx is context.WithValue(ctx, ctxKey{}, &reqInfo{...}) and the backing of the request id
// header's value in one allocation rather than three.
type infoCtx struct {
	context.Context
	info   reqInfo
	header [1]string
}

func (c *infoCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.info
	}
	return c.Context.Value(key)
}

func infoFrom(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(ctxKey{}).(*reqInfo)
	return ri
}

// localKey is where SetLocal keeps its value on a request RequestID did not see.
const localKey = "httpx.local"

// SetLocal keeps v for the rest of the request's handling (Local returns it): a middleware's
// result for its handler, such as the caller an authentication resolved. Behind RequestID it
// goes into the request's context value in place; elsewhere into echo's store.
func SetLocal(c echo.Context, v any) {
	if ri := infoFrom(c.Request().Context()); ri != nil {
		ri.local = v
		return
	}
	c.Set(localKey, v)
}

// Local returns what SetLocal kept for the request, or nil.
func Local(c echo.Context) any {
	if ri := infoFrom(c.Request().Context()); ri != nil && ri.local != nil {
		return ri.local
	}
	return c.Get(localKey)
}

// RequestIDFrom returns the request id stored in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.id
	}
	return ""
}
