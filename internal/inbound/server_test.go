package inbound_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/inbound"
)

// handlers is what the differential test serves, on both servers alike.
func handlers() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello world") })
	mux.HandleFunc("/json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 3 {
			_, _ = io.WriteString(w, strings.Repeat("x", 3000))
		}
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: a\n\n")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "data: b\n\n")
	})
	mux.HandleFunc("/empty", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/notmodified", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "12345")
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "12345")
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	})
	mux.HandleFunc("/ignore", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ignored") })
	mux.HandleFunc("/unknown", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(599) })
	mux.HandleFunc("/headers", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("X-Broken", "a\r\nb")
		h.Add("X-Multi", "1")
		h.Add("X-Multi", "2")
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		h.Set("X-Late", "not sent")
		_, _ = io.WriteString(w, "made")
	})
	mux.HandleFunc("/info", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "after hints")
	})
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	return mux
}

// exchange sends raw on a new connection to addr, shuts the sending side and reads everything
// the server answers until it closes.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	nc := dial(t, addr, raw)
	require.NoError(t, nc.(*net.TCPConn).CloseWrite())
	b, err := io.ReadAll(nc)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		require.NoError(t, err)
	}
	return string(b)
}

// dial connects to addr (closed with the test, every read and write bounded) and sends raw.
func dial(t *testing.T, addr, raw string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(nc, raw)
	require.NoError(t, err)
	return nc
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r]*\r\n`)

// unchunk rewrites a chunked body as one chunk: where a server cuts its chunks is its own
// business (net/http cuts at 2 KiB, inbound where the handler wrote).
func unchunk(t *testing.T, raw string) string {
	t.Helper()
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok || !strings.Contains(head, "Transfer-Encoding: chunked") {
		return raw
	}
	b, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(body)))
	require.NoError(t, err)
	return fmt.Sprintf("%s\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", head, len(b), b)
}

func normalize(t *testing.T, raw string) string {
	return unchunk(t, dateLine.ReplaceAllString(raw, "Date: -\r\n"))
}

// serve runs s on a loopback listener for the test and returns its address.
func serve(t *testing.T, s *inbound.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String()
}

// serveBoth starts net/http's server and ours on the same handler.
func serveBoth(t *testing.T, h http.Handler) (std, ours string) {
	t.Helper()
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s1 := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	s2 := &inbound.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s1.Serve(l1) }()
	go func() { _ = s2.Serve(l2) }()
	t.Cleanup(func() { _ = s1.Close(); _ = s2.Close() })
	return l1.Addr().String(), l2.Addr().String()
}

// TestSameAsNetHTTP sends the same bytes to net/http's server and to ours, serving the same
// handlers, and expects the same bytes back (the Date header aside).
func TestSameAsNetHTTP(t *testing.T) {
	t.Parallel()
	std, ours := serveBoth(t, handlers())
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	cases := map[string]string{
		"small":              get("/small"),
		"json":               get("/json"),
		"big chunked":        get("/big"),
		"flushed":            get("/flush"),
		"empty":              get("/empty"),
		"no content":         get("/nocontent"),
		"not modified":       get("/notmodified"),
		"short":              get("/short"),
		"exact":              get("/exact"),
		"handler closes":     get("/close"),
		"unknown status":     get("/unknown"),
		"headers":            get("/headers"),
		"early hints":        get("/info"),
		"panic":              get("/panic"),
		"not found":          get("/nowhere"),
		"head small":         "HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n",
		"head big":           "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n",
		"post":               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"post chunked":       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"pipelined":          get("/small") + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" + get("/json"),
		"unread body":        "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get("/small"),
		"unread large body":  "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nhello",
		"client closes":      "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + get("/json"),
		"http/1.0":           "GET /small HTTP/1.0\r\n\r\n",
		"http/1.0 keepalive": "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/json"),
		"http/1.0 flushed":   "GET /flush HTTP/1.0\r\n\r\n",
		"missing host":       "GET /small HTTP/1.1\r\n\r\n",
		"garbage":            "GARBAGE\r\n\r\n",
		"bad header":         "GET /small HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
		"http/2":             "GET /small HTTP/2.0\r\nHost: x\r\n\r\n",
		"bad expectation":    "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 2\r\n\r\nhi",
		"bad encoding":       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
		"bad chunk":          "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"bad length":         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"options *":          "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"absolute uri":       "GET http://x/small HTTP/1.1\r\nHost: y\r\n\r\n",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := normalize(t, exchange(t, std, raw))
			got := normalize(t, exchange(t, ours, raw))
			assert.Equal(t, want, got)
		})
	}
}

// TestContinue sends a body only once the server asks for it (Expect: 100-continue).
func TestContinue(t *testing.T) {
	t.Parallel()
	std, ours := serveBoth(t, handlers())
	run := func(addr string) string {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = io.WriteString(nc, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(nc)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		blank, err := br.ReadString('\n')
		require.NoError(t, err)
		_, err = io.WriteString(nc, "hello")
		require.NoError(t, err)
		require.NoError(t, nc.(*net.TCPConn).CloseWrite())
		rest, err := io.ReadAll(br)
		require.NoError(t, err)
		return line + blank + dateLine.ReplaceAllString(string(rest), "")
	}
	got := run(ours)
	assert.Equal(t, run(std), got)
	assert.True(t, strings.HasPrefix(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), got)
}

// TestHeaderLimits: headers beyond MaxHeaderBytes answer 431, as net/http.
func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	addr := serve(t, &inbound.Server{Handler: handlers(), MaxHeaderBytes: 1024})
	got := exchange(t, addr, "GET /small HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 8000)+"\r\n\r\n")
	assert.Equal(t, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large", got)
	got = exchange(t, addr, "GET /small HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2000)+"\r\n\r\n")
	assert.True(t, strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n"), got)
}

// TestTimeouts: a connection idle too long, or too slow to send its headers, is closed.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	addr := serve(t, &inbound.Server{Handler: handlers(), IdleTimeout: 600 * time.Millisecond, ReadHeaderTimeout: 600 * time.Millisecond})
	for name, raw := range map[string]string{
		"silent new connection": "",
		"slow headers":          "GET /small HTTP/1.1\r\nHost: x\r\n",
		"idle after a request":  "GET /small HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := io.ReadAll(dial(t, addr, raw)) // returns when the server closes
			require.NoError(t, err)
			if strings.HasSuffix(raw, "\r\n\r\n") {
				assert.True(t, strings.HasSuffix(string(b), "hello world"), string(b))
			} else {
				assert.Empty(t, string(b))
			}
		})
	}
}

// TestCallerLeaves: a call waiting for its answer sees its context end once its caller closed
// the connection (the watch starts after WatchAfter).
func TestCallerLeaves(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			close(ended)
		case <-time.After(10 * time.Second):
		}
	})
	addr := serve(t, &inbound.Server{Handler: h, WatchAfter: 100 * time.Millisecond})
	postAndLeave(t, addr, "/x", ended, "the handler's context did not end after its caller left")
}

// postAndLeave sends a POST to path on addr and hangs up without waiting for the answer, then
// waits (5 s at most) for ended to be closed; msg says what failed if it is not.
func postAndLeave(t *testing.T, addr, path string, ended <-chan struct{}, msg string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(nc, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, nc.Close())
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal(msg)
	}
}

// TestWatchKeepsPipelinedByte: a long call whose caller already sent its next request answers
// both: the byte the watch read ahead is the next request's.
func TestWatchKeepsPipelinedByte(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			time.Sleep(800 * time.Millisecond) // long enough to be watched
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})
	addr := serve(t, &inbound.Server{Handler: h, WatchAfter: 100 * time.Millisecond})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(nc, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	time.Sleep(500 * time.Millisecond) // the watch is reading by now
	_, err = io.WriteString(nc, "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	b, err := io.ReadAll(nc)
	require.NoError(t, err)
	got := dateLine.ReplaceAllString(string(b), "")
	assert.Equal(t, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n/first"+
		"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n/second", got)
}

// TestShutdown lets a call under way finish, closes idle connections and refuses new ones.
func TestShutdown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		_, _ = io.WriteString(w, "done")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &inbound.Server{Handler: h}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	addr := l.Addr().String()
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	res := make(chan string, 1)
	go func() {
		res <- exchange(t, addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	require.ErrorIs(t, <-served, http.ErrServerClosed)
	close(release)
	require.NoError(t, <-shut)
	got := <-res
	assert.Contains(t, got, "Connection: close\r\n")
	assert.True(t, strings.HasSuffix(got, "\r\n\r\ndone"), got)
	_, err = net.Dial("tcp", addr)
	assert.Error(t, err)
}

// TestHijack hands the connection to the handler.
func TestHijack(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\nraw")
		_ = brw.Flush()
	})
	addr := serve(t, &inbound.Server{Handler: h})
	assert.Equal(t, "HTTP/1.1 101 Switching Protocols\r\n\r\nraw", exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
}

// TestSetContext: a middleware gives the request it is served a derived context in place, with
// no copy of the request; a copy of it, or a request net/http serves, is left alone; the derived
// context still ends when the caller leaves. (Not parallel: it counts allocations.)
func TestSetContext(t *testing.T) { //nolint:paralleltest // testing.AllocsPerRun
	type key struct{}
	ended := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orig := r.Context()
		ctx := context.WithValue(orig, key{}, "v")
		copied := r.WithContext(orig)
		served := inbound.SetContext(r, ctx)
		if !served { // net/http's server
			assert.False(t, inbound.SetContext(copied, ctx))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		assert.Equal(t, "v", r.Context().Value(key{}))
		assert.False(t, inbound.SetContext(copied, ctx), "a copy of the request is not the one served")
		assert.Equal(t, orig, copied.Context())
		assert.Zero(t, testing.AllocsPerRun(10, func() { inbound.SetContext(r, ctx) }))
		if r.URL.Path == "/leave" {
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
				close(ended)
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	std, ours := serveBoth(t, h)
	res, err := http.Get("http://" + std + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	res, err = http.Get("http://" + ours + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
	postAndLeave(t, ours, "/leave", ended, "the context set in place did not end when the caller left")
}

// TestHandlerReplacesBody: a handler (a body-limiting middleware, say) that puts its own reader
// in r.Body, on a request with a body or without one, leaves the connection as net/http's does:
// the request's own body is settled, and the next request on the connection is served.
func TestHandlerReplacesBody(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader("")) // read nothing of the caller's body
		_, _ = io.WriteString(w, r.Method)
	})
	addr := serve(t, &inbound.Server{Handler: h})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	_, err = io.WriteString(nc, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"PUT /c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	for _, method := range []string{"GET", "POST", "PUT"} {
		res, err := http.ReadResponse(br, nil)
		require.NoError(t, err, method)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, method, string(body))
	}
}
