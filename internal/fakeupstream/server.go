package fakeupstream

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds the request body read by the server; larger bodies get a 413.
const maxBody = 32 << 20

// defaultRecording is how many recent requests a Server keeps unless told otherwise.
const defaultRecording = 1024

// Server is a fake upstream provider. It is an [http.Handler] safe for concurrent use; create it
// with [New]. Routes match by path suffix, so it can be mounted under any prefix.
type Server struct {
	keys   map[string]struct{}
	models []string
	routes []route
	openai *openAI

	count     atomic.Int64
	cancelled atomic.Int64
	script    script
	rec       recorder
}

// Option configures a [Server] in [New].
type Option func(*Server)

// WithKeys restricts the accepted credentials to keys; any other credential gets the protocol's
// "invalid API key" 401, which echoes a masked form of the key (see [MaskKey]) as the real
// providers do. Without this option every non-empty credential is accepted.
func WithKeys(keys ...string) Option {
	return func(s *Server) {
		if s.keys == nil {
			s.keys = make(map[string]struct{}, len(keys))
		}
		for _, k := range keys {
			s.keys[k] = struct{}{}
		}
	}
}

// WithModels sets the model ids listed by GET .../models (default: [DefaultModels]).
func WithModels(ids ...string) Option {
	return func(s *Server) { s.models = append([]string(nil), ids...) }
}

// WithRecording keeps the n most recent requests for [Server.Requests] (default 1024), so a
// long-running dev server or benchmark does not grow without bound. n <= 0 disables recording.
func WithRecording(n int) Option {
	return func(s *Server) { s.rec.capacity = max(n, 0) }
}

// WithoutRecording disables request recording; [Server.Requests] then returns nothing. Use it
// under load, where recording would copy every request's headers and body.
func WithoutRecording() Option { return WithRecording(0) }

// DefaultModels are the model ids listed when [WithModels] is not given.
func DefaultModels() []string {
	return []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5-mini"}
}

// New returns a Server in echo mode with no script.
func New(opts ...Option) *Server {
	s := &Server{models: DefaultModels()}
	s.rec.capacity = defaultRecording
	for _, o := range opts {
		o(s)
	}
	s.openai = newOpenAI(s.models)
	// Sibling protocols append their routes here; the first match wins.
	s.routes = append(s.routes, s.openai.routes()...)
	s.routes = append(s.routes, (&anthropic{}).routes()...)
	s.routes = append(s.routes, (&gemini{}).routes()...)
	return s
}

// Count returns the number of requests received since [New], whatever their outcome. [Server.Reset]
// does not change it.
func (s *Server) Count() int64 { return s.count.Load() }

// Cancelled returns the number of requests whose caller went away (closed the connection or
// cancelled the request) before the Server finished answering them.
func (s *Server) Cancelled() int64 { return s.cancelled.Load() }

// Reset clears the scripts and the recorded requests.
func (s *Server) Reset() {
	s.script.reset()
	s.rec.reset()
}

// protocol is what one wire format supplies to the shared core: how a caller is identified and how
// the core's own failures are rendered in that format's native error shape.
type protocol interface {
	// credential returns the caller's credential, or "" when there is none.
	credential(r *http.Request) string
	// unauthorized answers 401 for a missing (x.credential == "") or rejected credential.
	unauthorized(x *exchange)
	// noRoute answers 404 for an unknown path or 405 for a known path with the wrong method.
	noRoute(x *exchange, status int)
	// statusError answers status with the format's realistic default body and headers; headers
	// already set on the response (from [Reply.Header]) win.
	statusError(x *exchange, status int)
}

// route binds requests to a protocol handler.
type route struct {
	method string
	suffix string
	// when, if set, must also hold (e.g. to tell two formats apart by their auth header).
	when  func(r *http.Request) bool
	proto protocol
	// scripted routes consume a Reply from the script; others ignore the script.
	scripted bool
	serve    func(x *exchange)
}

// exchange is one request in flight.
type exchange struct {
	w          http.ResponseWriter
	r          *http.Request
	body       []byte
	credential string
	reply      Reply
	// scratch holds the pooled buffers of this request.
	scratch *scratch
}

// scratch is the per-request memory reused across requests: the body read in and the response
// built out. Handlers that grow out store it back so the growth is kept.
type scratch struct {
	in  bytes.Buffer
	out []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{out: make([]byte, 0, 4096)} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	if sc.in.Cap() > 1<<20 || cap(sc.out) > 1<<20 {
		return
	}
	sc.in.Reset()
	sc.out = sc.out[:0]
	scratchPool.Put(sc)
}

// ServeHTTP answers one request: route, authenticate, record, apply the next scripted reply, then
// let the protocol answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count.Add(1)
	sc := getScratch()
	defer putScratch(sc)
	defer func() {
		if r.Context().Err() != nil {
			s.cancelled.Add(1)
		}
	}()

	_, err := sc.in.ReadFrom(io.LimitReader(r.Body, maxBody+1))
	x := &exchange{w: w, r: r, body: sc.in.Bytes(), scratch: sc}
	rt, status := s.match(r)
	proto := rt.proto
	if proto == nil {
		proto = s.openai
	}
	x.credential = proto.credential(r)
	s.rec.record(r, x.body, x.credential)

	switch {
	case status != 0:
		proto.noRoute(x, status)
		return
	case err != nil:
		proto.statusError(x, http.StatusBadRequest)
		return
	case len(x.body) > maxBody:
		proto.statusError(x, http.StatusRequestEntityTooLarge)
		return
	case !s.allowed(x.credential):
		proto.unauthorized(x)
		return
	}
	if rt.scripted {
		x.reply, _ = s.script.next(x.credential)
		if !s.applyReply(x, proto) {
			return
		}
	}
	rt.serve(x)
}

// match finds the route for r. It returns a zero route and 404 for an unknown path, or the path's
// route and 405 when only the method differs.
func (s *Server) match(r *http.Request) (route, int) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	var byPath route
	found := false
	for _, rt := range s.routes {
		if !strings.HasSuffix(path, rt.suffix) || (rt.when != nil && !rt.when(r)) {
			continue
		}
		if rt.method == r.Method {
			return rt, 0
		}
		if !found {
			byPath, found = rt, true
		}
	}
	if found {
		return byPath, http.StatusMethodNotAllowed
	}
	return route{}, http.StatusNotFound
}

func (s *Server) allowed(credential string) bool {
	if credential == "" {
		return false
	}
	if s.keys == nil {
		return true
	}
	_, ok := s.keys[credential]
	return ok
}

// applyReply performs the scripted reply's delay, drop, headers and error status. It reports
// whether the protocol should go on and answer normally.
func (s *Server) applyReply(x *exchange, proto protocol) bool {
	rep := x.reply
	if !sleep(x.r.Context(), rep.Delay) {
		return false
	}
	if rep.Drop {
		abort(x.w)
		return false
	}
	h := x.w.Header()
	for k, v := range rep.Header {
		h.Set(k, v)
	}
	if rep.Raw != "" || rep.Stall {
		sendRaw(x)
		return false
	}
	if rep.Status == 0 || rep.Status == http.StatusOK {
		return true
	}
	if rep.Body == "" {
		proto.statusError(x, rep.Status)
		return false
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = []string{"application/json"}
	}
	x.w.WriteHeader(rep.Status)
	_, _ = io.WriteString(x.w, rep.Body)
	return false
}

// sendRaw answers with the reply's Raw bytes (trickled when asked), then stalls when asked.
func sendRaw(x *exchange) {
	rep := x.reply
	h := x.w.Header()
	if h.Get("Content-Type") == "" {
		ct := "application/json"
		if strings.Contains(x.r.Header.Get("Accept"), "text/event-stream") {
			ct = "text/event-stream"
		}
		h["Content-Type"] = []string{ct}
	}
	x.w.WriteHeader(cmp.Or(rep.Status, http.StatusOK))
	rc := http.NewResponseController(x.w)
	ctx := x.r.Context()
	if rep.Trickle > 0 {
		for i := 0; i < len(rep.Raw); i++ {
			if i > 0 && !sleep(ctx, rep.Trickle) {
				return
			}
			if _, err := io.WriteString(x.w, rep.Raw[i:i+1]); err != nil {
				return
			}
			_ = rc.Flush()
		}
	} else {
		_, _ = io.WriteString(x.w, rep.Raw)
		_ = rc.Flush()
	}
	if rep.Stall {
		<-ctx.Done()
	}
}

// sleep waits d or until ctx ends; it reports whether the full wait elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// abort closes the client connection abruptly: whatever was flushed stays sent, nothing else
// follows (no chunked terminator, no response at all if nothing was written). Under HTTP/2, or
// behind a writer that cannot hijack, it resets the stream through [http.ErrAbortHandler].
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
