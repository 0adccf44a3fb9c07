// Package cancelhook runs a function when a served request's context ends, more cheaply than
// context.AfterFunc where the server offers it.
//
// context.AfterFunc registers its function in the context tree: an object for it, an entry in
// the parent's map of children (a map made for the first one), the parent's mutex twice, and a
// goroutine to run it. The upstream client registers one per request (to close its connection
// when the caller leaves) and removes it when the answer was read: on a gateway that is a few
// per cent of a call's CPU. A server that serves one request at a time per connection can give
// each connection a Hook instead, carried by the request's context: one slot for one function,
// set and cleared under a mutex that nothing else contends for.
//
// A Hook serves only a context whose Done channel is its request's own (no deadline or
// cancellation of its own was added in between); for any other context AfterFunc falls back to
// context.AfterFunc.
package cancelhook

import (
	"context"
	"sync"
)

// Hook is the cancellation slot of one connection's current request. The server calls Begin
// when a request starts and Fire when its context ends (the caller left, or the handler
// returned), before or after cancelling the context.
type Hook struct {
	mu    sync.Mutex
	ctx   context.Context // the current request's context (nil: none)
	gen   uint64          // counts requests, so that a late Stop cannot clear a later request's slot
	f     func()
	fired bool
}

type key struct{}

// With returns ctx carrying h, for the contexts of the requests h serves.
func With(ctx context.Context, h *Hook) context.Context { return context.WithValue(ctx, key{}, h) }

// Begin starts a request whose context is ctx.
func (h *Hook) Begin(ctx context.Context) {
	h.mu.Lock()
	h.ctx, h.f, h.fired = ctx, nil, false
	h.gen++
	h.mu.Unlock()
}

// Fire runs the function set for the current request, if any, at most once, in the calling
// goroutine (the functions set must return at once: close a connection, say).
func (h *Hook) Fire() {
	h.mu.Lock()
	f := h.f
	h.f, h.fired = nil, true
	h.mu.Unlock()
	if f != nil {
		f()
	}
}

// Registration is one function set to run when a context ends: Stop removes it.
type Registration struct {
	h    *Hook
	gen  uint64
	stop func() bool // context.AfterFunc's, where no Hook serves the context
}

// AfterFunc arranges for f to run when ctx ends, as context.AfterFunc does, through ctx's Hook
// when it has one that serves it (f then runs in the goroutine that ends the context, so it must
// return at once).
func AfterFunc(ctx context.Context, f func()) Registration {
	if h, _ := ctx.Value(key{}).(*Hook); h != nil {
		if gen, ok := h.set(ctx, f); ok {
			return Registration{h: h, gen: gen}
		}
	}
	return Registration{stop: context.AfterFunc(ctx, f)}
}

// set fills the slot for ctx when the hook serves it: ctx is, or only adds values to, the
// current request's context, which has not ended.
func (h *Hook) set(ctx context.Context, f func()) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil || h.fired || h.f != nil || ctx.Done() != h.ctx.Done() {
		return 0, false
	}
	h.f = f
	return h.gen, true
}

// Stop removes the function and reports whether that kept it from running (false: it ran, or
// is running).
func (r Registration) Stop() bool {
	if r.h == nil {
		return r.stop()
	}
	h := r.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != r.gen || h.fired || h.f == nil {
		return false // its request ended (Fire ran it) or it was stopped already
	}
	h.f = nil
	return true
}
