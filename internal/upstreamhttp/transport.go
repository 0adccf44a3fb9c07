// Package upstreamhttp is a lean HTTP/1.1 client transport for the gateway's upstream leg.
//
// net/http's Transport runs two goroutines per connection (a reader and a writer) and hands
// every request and answer between them and the caller through channels; it also copies and
// sorts the request headers and starts timers per request. On a gateway that relays every call,
// that hand-off is a large share of the CPU per call. Transport does the same work in the caller's
// goroutine: it takes a pooled keep-alive connection, writes the whole request (line, headers and
// body) with one buffered write, reads the status line and headers, and returns a body that reads
// Content-Length, chunked or close-delimited framing straight from the connection's buffer. The
// connection goes back to the pool when the body was read to its end.
//
// Everything it does not do itself goes to Fallback (a *http.Transport): https (TLS and HTTP/2),
// requests through a proxy, bodies of unknown length, Expect: 100-continue and upgrades.
package upstreamhttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/poolgate/poolgate/internal/cancelhook"
	"github.com/poolgate/poolgate/internal/flushwait"
	"github.com/poolgate/poolgate/internal/header"
	"github.com/poolgate/poolgate/internal/sockio"
)

// Transport is an http.RoundTripper for plain-HTTP upstreams. The zero value is not usable: build
// it with New.
type Transport struct {
	fallback *http.Transport
	proxy    func(*http.Request) (*url.URL, error)
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	// headerTimeout bounds the wait for the answer's headers once the request is written (0: none).
	headerTimeout time.Duration
	idleTimeout   time.Duration
	maxIdle       int           // idle connections kept per host
	uncheckedIdle time.Duration // see the constant

	mu    sync.Mutex
	hosts map[string]*hostConns
	// direct caches, per host, whether the proxy settings send it through a proxy.
	direct map[string]bool
}

// hostConns is one host's idle connections, the most recently used last.
type hostConns struct {
	idle []*conn
}

// New returns a Transport that takes its settings (proxy, dialer, header and idle timeouts, idle
// connections per host) from fallback and hands it what it does not serve itself.
func New(fallback *http.Transport) *Transport {
	t := &Transport{
		fallback:      fallback,
		proxy:         fallback.Proxy,
		dial:          fallback.DialContext,
		headerTimeout: fallback.ResponseHeaderTimeout,
		idleTimeout:   fallback.IdleConnTimeout,
		maxIdle:       fallback.MaxIdleConnsPerHost,
		uncheckedIdle: uncheckedIdle,
		hosts:         map[string]*hostConns{},
		direct:        map[string]bool{},
	}
	if t.dial == nil {
		t.dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if t.maxIdle <= 0 {
		t.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	return t
}

// Fallback is the transport for what Transport does not serve itself.
func (t *Transport) Fallback() *http.Transport { return t.fallback }

// CloseIdleConnections closes the idle connections of both transports.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	hosts := t.hosts
	t.hosts = map[string]*hostConns{}
	t.mu.Unlock()
	for _, h := range hosts {
		for _, c := range h.idle {
			_ = c.nc.Close()
		}
	}
	t.fallback.CloseIdleConnections()
}

// RoundTrip sends one request. Like http.Transport it follows no redirects and always closes the
// request body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.serves(req) {
		return t.fallback.RoundTrip(req)
	}
	payload, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	addr := hostPort(req.URL)
	ctx := req.Context()
	for retried := false; ; retried = true {
		c, reused, now, err := t.conn(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, req, payload, t.headerTimeout, now)
		if err == nil {
			return resp, nil
		}
		// A kept-alive connection that failed while the request was written (the upstream
		// closed it between the liveness check and the write), or that the upstream had closed
		// before the request reached it (closedBeforeRequestError): the upstream did not read the
		// request, so it is sent once more on a new connection, as net/http does. A request the
		// upstream may have read is never sent twice.
		var ne notWrittenError
		var ce closedBeforeRequestError
		unread := errors.As(err, &ne) || errors.As(err, &ce)
		if !reused || retried || !unread || ctx.Err() != nil {
			return nil, err
		}
	}
}

// serves reports whether req is one Transport handles itself.
func (t *Transport) serves(req *http.Request) bool {
	u := req.URL
	if u == nil || u.Scheme != "http" || u.Host == "" || req.Method == http.MethodConnect ||
		req.ProtoMajor > 1 || len(req.TransferEncoding) > 0 || len(req.Trailer) > 0 {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		return false // unknown length: chunked request bodies stay with net/http
	}
	for k := range req.Header {
		switch k {
		case "Expect", "Upgrade", "Connection", "Transfer-Encoding", "Te", "Trailer", "Host", "Content-Length":
			return false
		}
	}
	if t.proxy == nil {
		return true
	}
	t.mu.Lock()
	direct, ok := t.direct[u.Host]
	t.mu.Unlock()
	if !ok {
		p, err := t.proxy(req)
		direct = err == nil && p == nil
		t.mu.Lock()
		t.direct[u.Host] = direct
		t.mu.Unlock()
	}
	return direct
}

// requestBody reads the request's body (of known length) and closes it. A body made by NewBody
// is sent as it is, without a copy.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	if p, ok := req.Body.(*payload); ok {
		rest := p.b[len(p.b)-p.Len():] // what a read would still return
		if int64(len(rest)) < req.ContentLength {
			return nil, fmt.Errorf("read request body: %w", io.ErrUnexpectedEOF)
		}
		return rest[:req.ContentLength], nil
	}
	b := make([]byte, req.ContentLength)
	if _, err := io.ReadFull(req.Body, b); err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// NewBody is a request body reading b. Transport sends it without copying it (the bytes must not
// change until RoundTrip returns); any other transport reads it as it reads a bytes.Reader.
func NewBody(b []byte) io.ReadCloser {
	p := &payload{b: b}
	p.Reset(b)
	return p
}

// payload is NewBody's body: a bytes.Reader that knows its bytes.
type payload struct {
	bytes.Reader
	b []byte
}

// Close does nothing: the bytes are the caller's.
func (*payload) Close() error { return nil }

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// uncheckedIdle is how long a connection may sit in the pool and still be taken without the
// liveness check (connCheck): under load connections come back and go out again within
// milliseconds, and the check is a system call per request. An upstream rarely closes a
// connection so soon after answering on it (idle timeouts are seconds); when it did, the request
// written on it meets a closed socket, and is sent again (closedBeforeRequestError).
const uncheckedIdle = 100 * time.Millisecond

// conn takes an idle connection to addr, or dials one. It returns the time it was taken at (a
// clock read the request's header timeout then counts from; a dial's end for a new one).
func (t *Transport) conn(ctx context.Context, addr string) (*conn, bool, time.Time, error) {
	now := time.Now()
	t.mu.Lock()
	if h := t.hosts[addr]; h != nil {
		for n := len(h.idle); n > 0; n = len(h.idle) {
			c := h.idle[n-1]
			h.idle[n-1] = nil
			h.idle = h.idle[:n-1]
			idle := now.Sub(c.idleSince)
			if t.idleTimeout > 0 && idle > t.idleTimeout {
				_ = c.nc.Close()
				continue
			}
			t.mu.Unlock()
			c.checked = idle >= t.uncheckedIdle
			// The deadline left armed may have passed while the connection was idle: the
			// liveness check's read would meet it, so it goes first (roundTrip arms a new one).
			if c.checked && !c.readDeadline.IsZero() && c.setReadDeadline(time.Time{}) != nil {
				_ = c.nc.Close()
				t.mu.Lock()
				continue
			}
			if c.checked && !c.check.alive() {
				_ = c.nc.Close()
				t.mu.Lock()
				continue
			}
			return c, true, now, nil
		}
	}
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, now, err
	}
	c := &conn{t: t, addr: addr, nc: nc, checked: true}
	c.sock.Init(nc)
	c.br = bufio.NewReaderSize(&c.sock, 8<<10)
	c.fw.Init(&c.sock)
	c.bw = bufio.NewWriterSize(c.fw.Writer(), 8<<10)
	c.check.init(nc)
	c.closeConn = func() { _ = c.nc.Close() }
	return c, false, time.Now(), nil
}

// put returns c to the idle pool (or closes it when the pool is full).
func (t *Transport) put(c *conn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	h := t.hosts[c.addr]
	if h == nil {
		h = &hostConns{}
		t.hosts[c.addr] = h
	}
	if len(h.idle) >= t.maxIdle {
		t.mu.Unlock()
		_ = c.nc.Close()
		return
	}
	h.idle = append(h.idle, c)
	t.mu.Unlock()
}

// conn is one kept-alive connection to an upstream.
type conn struct {
	t         *Transport
	addr      string
	nc        net.Conn
	sock      sockio.Conn // nc's reads and writes, without the scheduler's system-call path
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	hs        headerScratch  // reused for each answer's headers
	check     connCheck      // whether the connection is still good when taken from the pool
	checked   bool           // taken from the pool after connCheck said so (or new)
	fw        flushwait.Conn // sends a request's last bytes and waits for the answer (no empty read)
	closeConn func()         // closes nc (made once: the cancellation hook of every request)
	// readDeadline is the connection's read deadline as last set (zero: none). It stays armed
	// while the connection is idle (body.finish), for the next request's armHeader.
	readDeadline time.Time
}

// notWrittenError is a failure to write the request (the upstream did not get all of it).
type notWrittenError struct{ err error }

func (e notWrittenError) Error() string { return e.err.Error() }
func (e notWrittenError) Unwrap() error { return e.err }

// closedBeforeRequestError is a request written on a kept-alive connection the upstream had
// already closed: the answer's end came first, and the upstream's reset to the request (EPIPE)
// shows the request met a closed socket, which no program read.
type closedBeforeRequestError struct{ err error }

func (e closedBeforeRequestError) Error() string { return e.err.Error() }
func (e closedBeforeRequestError) Unwrap() error { return e.err }

// headerTimeoutError is the answer's headers not arriving in time (a net.Error that times out,
// with net/http's wording).
type headerTimeoutError struct{}

func (headerTimeoutError) Error() string   { return "net/http: timeout awaiting response headers" }
func (headerTimeoutError) Timeout() bool   { return true }
func (headerTimeoutError) Temporary() bool { return true }

// roundTrip writes req and reads the answer's headers. On an error the connection is closed.
func (c *conn) roundTrip(ctx context.Context, req *http.Request, payload []byte, headerTimeout time.Duration, now time.Time) (*http.Response, error) {
	// The caller leaving (or the attempt being cut) closes the connection, which unblocks any
	// read or write on it; the connection is then never reused.
	stop := cancelhook.AfterFunc(ctx, c.closeConn)
	fail := func(err error) (*http.Response, error) {
		stop.Stop()
		_ = c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	err := writeRequest(c.bw, req, payload)
	if err == nil {
		var derr error
		switch {
		case headerTimeout > 0: // from when the connection was taken, a moment before the request's last bytes
			derr = c.armHeader(now, headerTimeout)
		case !c.readDeadline.IsZero(): // the previous answer's, left armed: no bound on this one
			derr = c.setReadDeadline(time.Time{})
		}
		if derr != nil {
			return fail(derr)
		}
	}
	var readErr error
	if err == nil {
		err, readErr = c.fw.FlushWait(c.bw) // the request's last bytes, then the wait for the answer
	}
	if err != nil {
		c.bw.Reset(c.fw.Writer())
		var he headerError
		if errors.As(err, &he) {
			return fail(err)
		}
		return fail(notWrittenError{err})
	}
	resp, err := (*http.Response)(nil), readErr
	if err == nil {
		resp, err = readResponse(c.br, req, &c.hs)
	}
	if err == io.EOF && !c.checked && c.check.closedBefore() { //nolint:errorlint // readLine returns io.EOF itself for no byte at all
		err = closedBeforeRequestError{err}
	}
	if err != nil {
		var ne net.Error
		if headerTimeout > 0 && errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			err = headerTimeoutError{}
		}
		return fail(err)
	}
	// The header timeout's deadline stays until the body's first read (or its end) clears it or
	// replaces it with the silence bound's (body.arm): one deadline change, not two.
	b := &body{c: c, ctx: ctx, stop: stop, keep: !resp.Close}
	switch {
	case req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified || resp.ContentLength == 0:
		b.kind = bodyEmpty
	case len(resp.TransferEncoding) > 0:
		b.kind, b.chunks = bodyChunked, newChunkReader(c.br)
	case resp.ContentLength > 0:
		b.kind, b.left = bodyLength, resp.ContentLength
	default:
		b.kind, b.keep = bodyToClose, false
	}
	resp.Body = b
	if b.kind == bodyEmpty {
		b.finish(true)
		resp.Body = http.NoBody
	}
	return resp, nil
}

// slack is how much later than d ahead a read deadline of d may fall: a deadline already armed
// that ends the wait no earlier than d and at most slack(d) later is kept (keepReadDeadline).
func slack(d time.Duration) time.Duration { return d / 16 }

// armHeader bounds the wait for the answer's headers: the connection's read deadline d after now,
// or up to slack(d) later. The deadline the previous answer left is kept on its connection when
// its body ends (body.finish), so a busy connection moves its deadline once every d/16 rather
// than setting and clearing it for every request (two timer changes under the poller's lock).
func (c *conn) armHeader(now time.Time, d time.Duration) error {
	return c.keepReadDeadline(now.Add(d), slack(d))
}

// keepReadDeadline makes the read deadline fall between want and want+slack, moving it (to
// want+slack, so that it is kept longer) only when it does not already.
func (c *conn) keepReadDeadline(want time.Time, slack time.Duration) error {
	if dl := c.readDeadline; !dl.IsZero() && !dl.Before(want) && dl.Sub(want) <= slack {
		return nil
	}
	return c.setReadDeadline(want.Add(slack))
}

// setReadDeadline sets the connection's read deadline (zero: none), noting it in readDeadline.
func (c *conn) setReadDeadline(t time.Time) error {
	c.readDeadline = time.Time{}
	if err := c.nc.SetReadDeadline(t); err != nil {
		return err
	}
	c.readDeadline = t
	return nil
}

// isClosedConn reports whether err is a read on a connection closed on this side.
func isClosedConn(err error) bool { return errors.Is(err, net.ErrClosed) }

// writeRequest writes the request line, headers and body, flushing once.
func writeRequest(w *bufio.Writer, req *http.Request, body []byte) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validValue(host) {
		return headerError{"invalid Host " + strconv.Quote(host)}
	}
	uri := req.URL.RequestURI()
	if !validValue(uri) || uri == "" {
		return headerError{"invalid request URI"}
	}
	_, _ = w.WriteString(req.Method)
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(uri)
	_, _ = w.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = w.WriteString(host)
	_, _ = w.WriteString("\r\n")
	for k, vs := range req.Header {
		if !validName(k) {
			return headerError{"invalid header field name " + strconv.Quote(k)}
		}
		for _, v := range vs {
			if !validValue(v) {
				return headerError{"invalid header field value for " + strconv.Quote(k)}
			}
			_, _ = w.WriteString(k)
			_, _ = w.WriteString(": ")
			_, _ = w.WriteString(v)
			_, _ = w.WriteString("\r\n")
		}
	}
	if header.Get(req.Header, "User-Agent") == "" {
		_, _ = w.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	if req.Close {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	if body != nil || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(body)), 10))
		_, _ = w.WriteString("\r\n")
	}
	_, _ = w.WriteString("\r\n")
	_, err := w.Write(body)
	return err // what w still holds is sent by flushwait.Conn.FlushWait
}

// headerError is a request Transport refuses to write (no byte was sent).
type headerError struct{ msg string }

func (e headerError) Error() string { return "net/http: " + e.msg }

// validName reports whether s is an HTTP token (RFC 9110 field-name). It takes the answer's bytes
// as they are (a string conversion of a long field would be a copy).
func validName[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validValue reports whether s holds no control character but tab (so no CR or LF can end the
// field early and inject another).
func validValue[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
