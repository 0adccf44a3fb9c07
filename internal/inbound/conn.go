package inbound

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/poolgate/poolgate/internal/cancelhook"
	"github.com/poolgate/poolgate/internal/sockio"
)

// A connection's states, as the sweeper sees them.
const (
	stateIdle   int32 = iota // kept alive, waiting for the next request's first byte
	stateNew                 // accepted, waiting for the first request's first byte
	stateHeader              // reading a request's line and headers
	stateActive              // a request is being served
	stateGone                // hijacked or closed
)

// discardLimit bounds the unread rest of a request body read and thrown away after its answer
// so the connection can serve the next request; a longer rest closes the connection.
const discardLimit = 256 << 10

// lingerDelay is how long a connection closed with its request's body unread waits, its write
// side shut, before it closes (net/http's delay for the same case).
const lingerDelay = 500 * time.Millisecond

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
	// aLongTimeAgo is a deadline in the past: it unblocks a pending read at once.
	aLongTimeAgo = time.Unix(1, 0)
)

// conn is one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	sock   sockio.Conn // nc's reads and writes, without the scheduler's system-call path
	r      connReader
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	ctx    context.Context // the connection's: the requests' contexts derive from it

	state atomic.Int32
	since atomic.Int64 // the coarse clock when state last changed

	// scratch formats numbers and the status line.
	scratch [64]byte

	mu        sync.Mutex // guards what the sweeper and the watch share with the serving goroutine
	bodyDone  bool       // the request's body was read to its end
	watching  bool       // a watch goroutine reads ahead
	watchDone chan struct{}
	aborting  bool               // the watch is being stopped on purpose
	gone      bool               // the watch saw the caller leave
	cancel    context.CancelFunc // the current request's while its handler runs (nil: none runs)
	hook      cancelhook.Hook    // the current request's cancellation slot (cancelRequest fires it)
	// linger: the connection closes with a request body unread; its write side is shut first
	// and the close waits a moment, so the caller reads the answer before a reset.
	linger bool

	// resp and header are the current request's response and header map, reused from one
	// request to the next: a handler may not use its ResponseWriter once it has returned (as
	// with net/http), and the requests of a connection are served one after the other.
	resp   response
	header http.Header
	// reqTmpl is where readSimple reads a request; handle gives the handler a copy of it that
	// carries the request's context (WithContext copies anyway), so one Request is made per
	// request, not two.
	reqTmpl http.Request
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
	c.r.c = c
	c.sock.Init(nc)
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.r)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(&c.sock)
	c.ctx = context.WithValue(cancelhook.With(context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr()), &c.hook),
		connKey{}, c)
	c.setState(stateNew) // as net/http: ReadHeaderTimeout from the accept for the first request
	return c
}

// connKey is where a request's context holds its connection (SetContext).
type connKey struct{}

// SetContext gives r the context ctx in place, when r is the request this package's server is
// serving now on its connection (what it passed to the handler), and reports whether it did;
// otherwise (r is another request, or a copy of it) it leaves r alone and the caller uses
// r.WithContext. A middleware that adds to the request's context saves the copy of the request
// WithContext makes: the server holds nothing of r's context, and r is the handler's own.
// It is for the goroutine serving r, before r is handed to any other.
func SetContext(r *http.Request, ctx context.Context) bool {
	c, _ := r.Context().Value(connKey{}).(*conn)
	if c == nil || c.resp.req != r {
		return false
	}
	*r = *r.WithContext(ctx) // the copy stays on the stack
	return true
}

func (c *conn) setState(st int32) {
	c.since.Store(c.s.now())
	c.state.Store(st)
}

// connReader is what the connection's bufio.Reader reads: it bounds a request's header bytes
// and hands over the byte a watch read ahead.
type connReader struct {
	c       *conn
	limit   int64 // bytes that may still be read (the header bound while reading headers)
	hasByte bool
	byteBuf [1]byte
}

func (cr *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if cr.limit <= 0 {
		return 0, io.EOF
	}
	if cr.hasByte {
		p[0], cr.hasByte = cr.byteBuf[0], false
		cr.limit--
		return 1, nil
	}
	if int64(len(p)) > cr.limit {
		p = p[:cr.limit]
	}
	n, err := cr.c.sock.Read(p)
	cr.limit -= int64(n)
	if err != nil {
		cr.c.readFailed()
	}
	return n, err
}

// readFailed cancels the request being served: its caller is gone (or its connection broken).
func (c *conn) readFailed() {
	c.mu.Lock()
	c.cancelRequest()
	c.mu.Unlock()
}

// cancelRequest ends the context of the request being served, if any (c.mu held).
func (c *conn) cancelRequest() {
	if c.cancel != nil {
		c.hook.Fire()
		c.cancel()
	}
}

// check is the sweeper's look at c (s.mu held).
func (c *conn) check(now int64) {
	since := now - c.since.Load()
	switch c.state.Load() {
	case stateIdle:
		if since > int64(c.s.IdleTimeout) {
			_ = c.nc.Close()
		}
	case stateNew, stateHeader:
		if since > int64(c.s.ReadHeaderTimeout) {
			_ = c.nc.Close()
		}
	case stateActive:
		if since > int64(c.s.WatchAfter) {
			c.mu.Lock()
			if c.cancel != nil && c.bodyDone && !c.watching && !c.gone {
				c.startWatch()
			}
			c.mu.Unlock()
		}
	}
}

// startWatch reads ahead on the connection while a long call is served (c.mu held): the caller
// closing its side cancels the request's context; a byte that arrives (a pipelined request's
// first) is kept for the next read.
func (c *conn) startWatch() {
	c.watching = true
	c.aborting = false
	done := make(chan struct{})
	c.watchDone = done
	go func() {
		defer close(done)
		n, err := c.nc.Read(c.r.byteBuf[:])
		c.mu.Lock()
		defer c.mu.Unlock()
		if n == 1 {
			c.r.hasByte = true
		}
		if err != nil && !c.aborting {
			c.gone = true
			c.cancelRequest()
		}
	}()
}

// stopWatch notes that the handler is done, ends a watch under way and reports whether the
// caller is still there.
func (c *conn) stopWatch() bool {
	c.mu.Lock()
	c.cancel = nil
	if !c.watching {
		gone := c.gone
		c.mu.Unlock()
		return !gone
	}
	c.aborting = true
	done := c.watchDone
	c.mu.Unlock()
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
	<-done
	_ = c.nc.SetReadDeadline(time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = false
	return !c.gone
}

// serve serves c's requests one after the other until one closes it.
func (c *conn) serve() {
	hijacked := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler { //nolint:errorlint // a panic value, compared as net/http does
			c.s.Log.Error("inbound: handler panic", "remote", c.remote, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		if !hijacked {
			c.close()
		}
	}()
	for {
		w, err := c.readRequest()
		if err != nil {
			c.refuse(err)
			return
		}
		hijacked = c.handle(w)
		if hijacked || w.closeAfter || c.s.closing.Load() {
			return
		}
		c.setState(stateIdle)
	}
}

func (c *conn) close() {
	c.setState(stateGone)
	_ = c.bw.Flush()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.linger {
		_ = cw.CloseWrite()
		time.Sleep(lingerDelay)
	}
	_ = c.nc.Close()
	c.s.forget(c)
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
}

// requestError is a request that cannot be served: it is answered with status (and detail, in
// net/http's words) and the connection closes.
type requestError struct {
	status int
	detail string
	body   string // the answer's body when it is not the status and detail
}

func (e requestError) Error() string { return http.StatusText(e.status) + ": " + e.detail }

// readRequest waits for the next request and reads its line and headers.
func (c *conn) readRequest() (*response, error) {
	c.r.limit = math.MaxInt64
	if st := c.state.Load(); st == stateIdle || st == stateNew { // until the request's first byte
		if _, err := c.br.Peek(1); err != nil {
			return nil, err
		}
		if st == stateNew {
			c.state.Store(stateHeader) // a new connection's header timeout runs from the accept
		} else {
			c.setState(stateHeader)
		}
	}
	c.r.limit = int64(c.s.MaxHeaderBytes) + 4096 - int64(c.br.Buffered())
	req, simple := readSimple(c.br, &c.reqTmpl) // a plain request already buffered (parse.go)
	var err error
	if !simple {
		req, err = http.ReadRequest(c.br)
	}
	hitLimit := c.r.limit <= 0
	c.r.limit = math.MaxInt64
	if err != nil {
		var ne net.Error
		switch {
		case hitLimit:
			return nil, requestError{status: http.StatusRequestHeaderFieldsTooLarge}
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne):
			return nil, err
		case strings.Contains(err.Error(), "unsupported transfer encoding"):
			return nil, requestError{status: http.StatusNotImplemented, body: "Unsupported transfer encoding"}
		}
		return nil, requestError{status: http.StatusBadRequest}
	}
	if req.ProtoMajor != 1 {
		return nil, requestError{status: http.StatusHTTPVersionNotSupported, detail: "unsupported protocol version"}
	}
	// http.ReadRequest moves the Host header into req.Host (a second Host line is dropped).
	switch {
	case req.ProtoAtLeast(1, 1) && req.Host == "" && req.Method != http.MethodConnect:
		return nil, requestError{status: http.StatusBadRequest, detail: "missing required Host header"}
	case !httpguts.ValidHostHeader(req.Host):
		return nil, requestError{status: http.StatusBadRequest, detail: "malformed Host header"}
	}
	if !simple { // readSimple took only valid names and values
		if err := validHeader(req.Header); err != nil {
			return nil, err
		}
	}
	req.RemoteAddr = c.remote
	if c.header == nil {
		c.header = make(http.Header, 8)
	} else {
		clear(c.header)
	}
	c.resp = response{c: c, req: req, header: c.header, clen: -1, head: req.Method == http.MethodHead, closeAfter: req.Close}
	w := &c.resp
	// As net/http: 100-continue is honoured for a body of HTTP/1.1 and ignored otherwise; any
	// other expectation fails (417, answered by handle).
	if expect := req.Header["Expect"]; len(expect) > 0 {
		switch {
		case !httpguts.HeaderValuesContainsToken(expect, "100-continue"):
			w.expectFailed = expect[0] != ""
		case req.ProtoAtLeast(1, 1) && req.ContentLength != 0:
			w.expectContinue = true
		}
	}
	return w, nil
}

// refuse answers a request that cannot be read or served, as net/http words it, and gives up
// the connection; a connection that ended or broke gets no answer.
func (c *conn) refuse(err error) {
	var re requestError
	if !errors.As(err, &re) {
		return
	}
	text := http.StatusText(re.status)
	if re.detail != "" {
		text += ": " + re.detail
	}
	body := re.body
	if body == "" {
		body = strconv.Itoa(re.status) + " " + text
	}
	// Headers too large leave the rest of them unread: as net/http, the write side is shut and
	// the close waits a moment, so that the caller reads the 431 before a reset can discard it.
	c.linger = re.status == http.StatusRequestHeaderFieldsTooLarge
	_, _ = fmt.Fprintf(c.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s", re.status, text, body)
}

// handle serves one request and reports whether the handler hijacked the connection.
func (c *conn) handle(w *response) (hijacked bool) {
	req := w.req
	ctx, cancel := context.WithCancel(c.ctx)
	c.hook.Begin(ctx)
	defer func() {
		c.hook.Fire()
		cancel()
	}()
	c.mu.Lock()
	c.gone, c.cancel = false, cancel
	c.bodyDone = req.Body == http.NoBody
	c.mu.Unlock()
	if req.Body != http.NoBody {
		w.body = requestBody{w: w, rc: req.Body, size: req.ContentLength}
		req.Body = &w.body
	}
	tmpl := req == &c.reqTmpl
	req = req.WithContext(ctx)
	if tmpl {
		c.reqTmpl = http.Request{} // hold nothing of this request while the connection waits
	}
	w.req = req
	c.setState(stateActive)
	switch {
	case w.expectFailed:
		w.closeAfter = true
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusExpectationFailed)
	case req.RequestURI == "*" && req.Method == http.MethodOptions: // as net/http's server
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	default:
		c.s.Handler.ServeHTTP(w, req)
	}
	if w.hijacked {
		return true
	}
	if !c.stopWatch() {
		w.closeAfter = true
	}
	w.finish()
	return false
}

// requestBody is a request's body as the handler reads it: the first read sends 100 Continue
// when the caller waits for it, and reading to the end lets the connection be watched.
type requestBody struct {
	w    *response
	rc   io.ReadCloser // nil: the request has no body
	size int64         // the request's Content-Length (-1: unknown)
	read int64         // bytes the handler read
	eof  bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	w := b.w
	if w.expectContinue && !w.continueDone {
		w.continueDone = true
		if !w.wroteHeader {
			w.sentContinue = true
			_, _ = w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := w.c.bw.Flush(); err != nil {
				return 0, err
			}
		}
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if err == io.EOF && !b.eof { //nolint:errorlint // io.EOF is returned unwrapped by readers
		b.eof = true
		c := w.c
		c.mu.Lock()
		c.bodyDone = true
		c.mu.Unlock()
	}
	return n, err
}

func (b *requestBody) Close() error { return b.rc.Close() }

// validHeader refuses a header field name or value that net/http's server refuses.
func validHeader(h http.Header) error {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return requestError{status: http.StatusBadRequest, detail: "invalid header name"}
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return requestError{status: http.StatusBadRequest, detail: "invalid header value"}
			}
		}
	}
	return nil
}
