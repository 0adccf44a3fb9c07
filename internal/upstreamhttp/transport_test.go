package upstreamhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/upstreamhttp"
)

// setup is a lean transport over a fresh net/http transport (no proxy), closed at the end.
func setup(t *testing.T, mod ...func(*http.Transport)) *upstreamhttp.Transport {
	t.Helper()
	fb := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute}
	for _, m := range mod {
		m(fb)
	}
	tr := upstreamhttp.New(fb)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// countingServer is an httptest server that counts the connections it accepted.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post(t *testing.T, ctx context.Context, tr http.RoundTripper, u, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-test")
	return tr.RoundTrip(req)
}

func TestLengthAndChunkedBodiesReuseOneConnection(t *testing.T) {
	t.Parallel()
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer sk-test" || r.ContentLength != int64(len(b)) || r.Host == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("chunked") != "" {
			w.Write(b) // flushed: chunked framing
			w.(http.Flusher).Flush()
			w.Write([]byte("|tail"))
			return
		}
		w.Header().Set("Content-Length", "0")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}))
	tr := setup(t)
	for i := range 20 {
		u := srv.URL + "/v1/chat?i=" + strconv.Itoa(i)
		want := `{"n":` + strconv.Itoa(i) + `}`
		if i%2 == 1 {
			u += "&chunked=1"
		}
		resp, err := post(t, t.Context(), tr, u, want)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		if i%2 == 1 {
			require.Equal(t, want+"|tail", string(got))
			require.Equal(t, int64(-1), resp.ContentLength)
			require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
		} else {
			require.Equal(t, want, string(got))
			require.Equal(t, int64(len(want)), resp.ContentLength)
		}
	}
	require.Equal(t, int64(1), conns.Load(), "every call reuses the one kept-alive connection")
}

func TestStreamEventsArriveAsSent(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			w.Write([]byte("data: " + strconv.Itoa(i) + "\n\n"))
			w.(http.Flusher).Flush()
			<-next // the next event waits for the client to have read this one
		}
	}))
	tr := setup(t)
	resp, err := post(t, t.Context(), tr, srv.URL, `{}`)
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "data: "+strconv.Itoa(i)+"\n", line)
		_, err = br.ReadString('\n')
		require.NoError(t, err)
		next <- struct{}{}
	}
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Empty(t, rest)
}

func TestCallerLeavingCutsWaitAndBody(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the server notices the client leaving only once the body was read
		if r.URL.Path == "/body" {
			w.Write([]byte("data: first\n\n"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold) })
	tr := setup(t)

	// Waiting for headers.
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := post(t, ctx, tr, srv.URL+"/headers", `{}`)
		errc <- err
	}()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	// Reading the body.
	ctx, cancel = context.WithCancel(t.Context())
	resp, err := post(t, ctx, tr, srv.URL+"/body", `{}`)
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "data: first\n\n", string(buf[:n]))
	go cancel()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, context.Canceled)
	resp.Body.Close()

	// A cut connection is never reused: the next call dials.
	before := conns.Load()
	resp, err = post(t, t.Context(), tr, srv.URL+"/body", `{}`)
	require.NoError(t, err)
	n, err = resp.Body.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "data: first\n\n", string(buf[:n]))
	resp.Body.Close() // closed before its end: the connection is dropped
	require.Equal(t, before+1, conns.Load())
}

func TestHeaderTimeout(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold) })
	tr := setup(t, func(fb *http.Transport) { fb.ResponseHeaderTimeout = 50 * time.Millisecond })
	_, err := post(t, t.Context(), tr, srv.URL, `{}`)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout())
	require.Contains(t, err.Error(), "timeout awaiting response headers")
}

// rawServer answers each accepted connection with serve.
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

// readRequest reads one request (headers and its Content-Length body).
func readRequest(br *bufio.Reader) (*http.Request, error) {
	r, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.ReadAll(r.Body)
	return r, err
}

// pooled is how a reused connection is taken: after the liveness check (idle longer than the
// unchecked span), or without it (taken again at once, as under load).
var pooled = []struct {
	name      string
	unchecked time.Duration
}{{"checked", 0}, {"unchecked", time.Hour}}

func TestIdleConnectionClosedByUpstreamIsNotUsed(t *testing.T) {
	t.Parallel()
	for _, p := range pooled {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			// The upstream answers one request per connection without saying it closes it.
			closed := make(chan struct{}, 8)
			var requests atomic.Int64
			u, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				defer func() { closed <- struct{}{} }()
				defer c.Close()
				if _, err := readRequest(br); err != nil {
					return
				}
				requests.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			})
			tr := setup(t)
			upstreamhttp.SetUncheckedIdle(tr, p.unchecked)
			for range 3 {
				resp, err := post(t, t.Context(), tr, u, `{}`)
				require.NoError(t, err)
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, "ok", string(b))
				<-closed // the upstream closed the now idle connection
			}
			// Unchecked, the second and third requests met the closed connection first and were
			// sent again on a new one: each request reached the upstream once.
			require.Equal(t, int64(3), requests.Load())
			require.Equal(t, int64(3), conns.Load())
		})
	}
}

func TestRequestCutAfterItWasSentIsNotSentAgain(t *testing.T) {
	t.Parallel()
	for _, p := range pooled {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int64
			u, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					if requests.Add(1) > 1 {
						return // cut: the request was received, no answer
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			tr := setup(t)
			upstreamhttp.SetUncheckedIdle(tr, p.unchecked)
			resp, err := post(t, t.Context(), tr, u, `{}`)
			require.NoError(t, err)
			_, err = io.ReadAll(resp.Body)
			require.NoError(t, err)
			_, err = post(t, t.Context(), tr, u, `{}`) // on the kept-alive connection
			require.Error(t, err)
			require.Equal(t, int64(2), requests.Load(), "the cut request reached the upstream once")
		})
	}
}

func TestInformationalAnswersAreSkipped(t *testing.T) {
	t.Parallel()
	u, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"+
				"HTTP/1.1 201 Created\r\nX-Thing: a\r\nx-thing: b\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n")
		}
	})
	tr := setup(t)
	for range 2 {
		resp, err := post(t, t.Context(), tr, u, `{}`)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, "201 Created", resp.Status)
		require.Equal(t, []string{"a", "b"}, resp.Header["X-Thing"])
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "abc", string(b))
	}
}

func TestMalformedAnswersFailAndAreNotReused(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]string{
		"garbage":          "SSH-2.0-OpenSSH\r\n\r\n",
		"bad status":       "HTTP/1.1 2000 OK\r\n\r\n",
		"two lengths":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
		"bad length":       "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
		"gzip encoding":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
		"header injection": "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
		"cut headers":      "HTTP/1.1 200 OK\r\nContent-Le",
		"cut body":         "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok",
		"cut chunk":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"bad chunk size":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, answer)
			})
			tr := setup(t)
			resp, err := post(t, t.Context(), tr, u, `{}`)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			require.Error(t, err)
			require.NotErrorIs(t, err, io.EOF)
			before := conns.Load()
			_, _ = post(t, t.Context(), tr, u, `{}`)
			require.Greater(t, conns.Load(), before, "a failed connection is not reused")
		})
	}
}

func TestCloseDelimitedBody(t *testing.T) {
	t.Parallel()
	u, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
	})
	tr := setup(t)
	resp, err := post(t, t.Context(), tr, u, `{}`)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "until the end", string(b))
	require.True(t, resp.Close)
}

func TestRequestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	u, conns := rawServer(t, func(net.Conn, *bufio.Reader) {})
	tr := setup(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sk-a\r\nX-Evil: 1")
	_, err = tr.RoundTrip(req)
	require.ErrorContains(t, err, "invalid header field value")
	require.NotContains(t, err.Error(), "sk-a", "the credential is not repeated in the error")
	_ = conns
}

func TestDelegatesWhatItDoesNotServe(t *testing.T) {
	t.Parallel()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	t.Cleanup(tls.Close)
	tr := setup(t, func(fb *http.Transport) {
		fb.TLSClientConfig = tls.Client().Transport.(*http.Transport).TLSClientConfig //nolint:forcetypeassert // httptest's client
	})
	resp, err := post(t, t.Context(), tr, tls.URL, `{}`)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "HTTP/1.1", string(b))

	// Through a proxy: the proxy sees the absolute URL net/http sends it.
	var seen atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.RequestURI)
		w.Write([]byte("via proxy"))
	}))
	t.Cleanup(proxy.Close)
	pu, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	tr = setup(t, func(fb *http.Transport) { fb.Proxy = http.ProxyURL(pu) })
	resp, err = post(t, t.Context(), tr, "http://upstream.invalid/v1/chat", `{}`)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "via proxy", string(b))
	require.Equal(t, "http://upstream.invalid/v1/chat", seen.Load())
}

func TestDialFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	tr := setup(t)
	_, err = post(t, t.Context(), tr, "http://"+addr, `{}`)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	require.False(t, errors.Is(err, context.Canceled))
}

func TestWholeRequestInOneWrite(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	u, _ := rawServer(t, func(c net.Conn, _ *bufio.Reader) {
		buf := make([]byte, 64<<10)
		n, _ := c.Read(buf) // the first read holds the whole request: it came in one write
		got <- buf[:n]
		io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
	})
	tr := setup(t)
	body := `{"model":"m","messages":[{"role":"user","content":"hello"}]}`
	resp, err := post(t, t.Context(), tr, u+"/v1/chat/completions?x=1", body)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	req := <-got
	require.True(t, bytes.HasPrefix(req, []byte("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: ")), "%q", req)
	require.True(t, bytes.HasSuffix(req, []byte("\r\n\r\n"+body)), "%q", req)
	require.Contains(t, string(req), "\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n")
}

func TestStreamClosedAtItsEndMarkerKeepsTheConnection(t *testing.T) {
	t.Parallel()
	u, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"d\r\ndata: hello\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
		}
	})
	tr := setup(t)
	for range 3 {
		resp, err := post(t, t.Context(), tr, u, `{}`)
		require.NoError(t, err)
		br := bufio.NewReaderSize(resp.Body, 16)
		for {
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			if line == "data: [DONE]\n" {
				break
			}
		}
		require.NoError(t, resp.Body.Close()) // the terminator is not read yet
	}
	require.Equal(t, int64(1), conns.Load())
}

// TestNewBody: a NewBody body reaches the upstream as it is (what is left of it when partly
// read), through the lean transport and through net/http's, and a body shorter than its
// Content-Length fails before anything is sent.
func TestNewBody(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	tr := setup(t)
	send := func(rt http.RoundTripper, body io.ReadCloser, n int64) (string, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, nil)
		require.NoError(t, err)
		req.Body, req.ContentLength = body, n
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	for _, rt := range []http.RoundTripper{tr, tr.Fallback()} {
		got, err := send(rt, upstreamhttp.NewBody([]byte(`{"a":1}`)), 7)
		require.NoError(t, err)
		require.Equal(t, `{"a":1}`, got)
		partly := upstreamhttp.NewBody([]byte(`xx{"b":2}`))
		_, err = io.ReadFull(partly, make([]byte, 2))
		require.NoError(t, err)
		got, err = send(rt, partly, 7)
		require.NoError(t, err)
		require.Equal(t, `{"b":2}`, got)
	}
	_, err := send(tr, upstreamhttp.NewBody([]byte(`{}`)), 3)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// silenceBound is what the relay asks of the lean client's bodies (BoundSilence).
type silenceBound interface {
	BoundSilence(d time.Duration, err error) bool
}

var errSilent = errors.New("silent")

// TestBoundSilence: under BoundSilence a body whose answer stops sending fails with the given
// error about the bound after its last bytes (its connection closed, not reused); one that keeps
// sending, each silence shorter than the bound, is read whole however long it lasts; and the
// connection goes back to the pool without the bound's deadline, so a later slow answer on it is
// waited for as long as it takes.
func TestBoundSilence(t *testing.T) {
	t.Parallel()
	const bound = 300 * time.Millisecond
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/slow-headers":
			time.Sleep(2 * bound)
			_, _ = io.WriteString(w, "late")
			return
		case "/whole":
			_, _ = io.WriteString(w, "whole")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/silent" {
			<-r.Context().Done()
			return
		}
		for range 8 { // 8 × bound/3: longer than the bound in all
			time.Sleep(bound / 3)
			_, _ = io.WriteString(w, "data: beat\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	tr := setup(t)

	resp, err := post(t, t.Context(), tr, srv.URL+"/silent", `{}`)
	require.NoError(t, err)
	require.True(t, resp.Body.(silenceBound).BoundSilence(bound, errSilent))
	start := time.Now()
	got, err := io.ReadAll(resp.Body)
	require.ErrorIs(t, err, errSilent)
	require.Equal(t, "data: first\n\n", string(got))
	require.GreaterOrEqual(t, time.Since(start), bound)
	require.NoError(t, resp.Body.Close())

	resp, err = post(t, t.Context(), tr, srv.URL+"/steady", `{}`)
	require.NoError(t, err)
	require.True(t, resp.Body.(silenceBound).BoundSilence(bound, errSilent))
	got, err = io.ReadAll(resp.Body)
	require.NoError(t, err, "an answer that keeps sending is not cut")
	require.Equal(t, 8, strings.Count(string(got), "data: beat"))
	require.NoError(t, resp.Body.Close())
	before := conns.Load()

	resp, err = post(t, t.Context(), tr, srv.URL+"/whole", `{}`)
	require.NoError(t, err)
	require.True(t, resp.Body.(silenceBound).BoundSilence(bound, errSilent))
	got, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "whole", string(got))
	require.NoError(t, resp.Body.Close())

	resp, err = post(t, t.Context(), tr, srv.URL+"/slow-headers", `{}`)
	require.NoError(t, err, "the pooled connection carries no deadline of the last answer's bound")
	got, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "late", string(got))
	require.Equal(t, before, conns.Load(), "the steady answer's connection served the next two")
	require.False(t, resp.Body.(silenceBound).BoundSilence(0, errSilent))
}

// TestHeaderTimeoutEndsWithTheHeaders: the header timeout bounds the wait for the headers only; a
// body that comes later than it is read.
func TestHeaderTimeoutEndsWithTheHeaders(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Length", "4")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(3 * timeout)
		_, _ = io.WriteString(w, "body")
	}))
	tr := setup(t, func(fb *http.Transport) { fb.ResponseHeaderTimeout = timeout })
	resp, err := post(t, t.Context(), tr, srv.URL, `{}`)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "body", string(got))
	require.NoError(t, resp.Body.Close())
}

// TestHeaderDeadlineLeftArmedWhileIdle: the header timeout's deadline a fast answer leaves on its
// connection passes while the connection is idle; the connection is still reused (checked or
// not), and the header timeout still bounds a later request on it.
func TestHeaderDeadlineLeftArmedWhileIdle(t *testing.T) {
	t.Parallel()
	const timeout = 50 * time.Millisecond
	for _, p := range pooled {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				if r.URL.Path == "/hold" {
					select {
					case <-hold:
					case <-r.Context().Done():
					}
					return
				}
				_, _ = io.WriteString(w, "ok")
			}))
			tr := setup(t, func(fb *http.Transport) { fb.ResponseHeaderTimeout = timeout })
			upstreamhttp.SetUncheckedIdle(tr, p.unchecked)
			for range 3 {
				resp, err := post(t, t.Context(), tr, srv.URL, `{}`)
				require.NoError(t, err)
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, "ok", string(b))
				require.NoError(t, resp.Body.Close())
				time.Sleep(3 * timeout) // the deadline left armed passes meanwhile
			}
			require.Equal(t, int64(1), conns.Load())
			start := time.Now()
			_, err := post(t, t.Context(), tr, srv.URL+"/hold", `{}`)
			require.ErrorContains(t, err, "timeout awaiting response headers")
			require.GreaterOrEqual(t, time.Since(start), timeout)
			require.Equal(t, int64(1), conns.Load())
		})
	}
}
