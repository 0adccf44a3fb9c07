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

// RequestID assigns each request an id, sets the response header and stores it in the request
// context (RequestIDFrom reads it).
func RequestID(gen *IDGen) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := gen.Next()
			c.Response().Header().Set(HeaderRequestID, id)
			c.Set("request_id", id)
			r := c.Request()
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
			return next(c)
		}
	}
}

// RequestIDFrom returns the request id stored in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}
