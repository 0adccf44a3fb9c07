package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// balancer is the load balancer of the rolling-restart test: round robin over instances, and,
// like HAProxy's `retry-on conn-failure empty-response` or nginx's `proxy_next_upstream error`,
// it sends a call to the next instance when the connection was refused or closed before any
// byte of an answer came back. That retry is safe against a gracefully stopping Poolgate: its
// shutdown only closes connections that have not started a request (idle ones, and those still
// in the accept queue when the listener closes), and answers every request it has read.
type balancer struct {
	backends []string // host:port
	tr       *http.Transport
	next     atomic.Uint64
	retried  atomic.Int64
	served   []atomic.Int64
}

func newBalancer(backends []string) *balancer {
	return &balancer{backends: backends, served: make([]atomic.Int64, len(backends)),
		tr: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: false}}
}

// hopHeaders are not forwarded.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te", "Trailer"}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	first := int(b.next.Add(1))
	for try := range 2 * len(b.backends) {
		i := (first + try) % len(b.backends)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+b.backends[i]+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		for _, h := range hopHeaders {
			req.Header.Del(h)
		}
		res, err := b.tr.RoundTrip(req)
		if err != nil {
			if r.Context().Err() == nil && noAnswer(err) {
				b.retried.Add(1)
				continue
			}
			http.Error(w, "balancer: "+err.Error(), http.StatusBadGateway)
			return
		}
		b.served[i].Add(1)
		relayAnswer(w, res)
		return
	}
	http.Error(w, "balancer: no instance answered", http.StatusBadGateway)
}

// noAnswer reports whether a round trip failed before any byte of an answer: the connection was
// refused, reset or closed.
func noAnswer(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// relayAnswer copies an answer, flushing each read so streams pass event by event.
func relayAnswer(w http.ResponseWriter, res *http.Response) {
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
	w.WriteHeader(res.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// A broken upstream answer must show as broken to the caller, not as a short one.
				panic(http.ErrAbortHandler)
			}
			return
		}
	}
}

// slowStreams makes every answer of the fake upstream a 24-word text, streamed one word per
// 15 ms, so streams are in flight whenever an instance is stopped.
type slowStreams struct{ up *fakeupstream.Server }

func (s slowStreams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.up.Enqueue(fakeupstream.Reply{EventDelay: 15 * time.Millisecond,
		Text: strings.TrimSpace(strings.Repeat("rolling restart keeps every call answered ", 4))})
	s.up.ServeHTTP(w, r)
}

// TestRollingRestart serves three instances on one database and Redis behind a load balancer,
// keeps mixed load on them (three protocols, streamed and not, each stream lasting a few hundred
// milliseconds), and restarts one instance the way SIGTERM does (app.Serve's graceful
// shutdown), then starts it again on the same port. No call fails: the stopping instance stops
// accepting (the balancer meets a refused connection and tries the next instance), finishes the
// calls and streams it had started, writes their usage and exits. Every call answered has its
// usage row.
func TestRollingRestart(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	up := fakeupstream.New(fakeupstream.WithoutRecording())
	upSrv := httptest.NewServer(slowStreams{up: up})
	t.Cleanup(upSrv.Close)
	env.UpstreamURL = upSrv.URL + "/v1"
	f := &faultEnv{env: env}
	env.Channel("rolling", []string{faultModel}, "sk-upstream-roll-aaaa", "sk-upstream-roll-bbbb")
	env.Price(faultModel, 3_000_000, 7_000_000)
	f.user = env.NewUser("rolling-user", 100_000_000)

	ins := []*apptest.Instance{env.Serve(t, "127.0.0.1:0"), env.Serve(t, "127.0.0.1:0"), env.Serve(t, "127.0.0.1:0")}
	lb := newBalancer([]string{ins[0].Addr, ins[1].Addr, ins[2].Addr})
	lbSrv := httptest.NewServer(lb)
	t.Cleanup(lbSrv.Close)
	t.Cleanup(lb.tr.CloseIdleConnections)

	l := startLoadOn(t, lbSrv.URL, f.user.Key, 6)
	l.waitFor(t, 12)

	old := ins[1]
	require.Eventually(t, func() bool { return old.App.Relay.InFlight() > 0 }, time.Minute, time.Millisecond,
		"the instance is stopped with calls in flight")
	inFlight := old.App.Relay.InFlight()
	require.NoError(t, old.Stop(), "a graceful stop")
	ins[1] = env.Serve(t, old.Addr)
	before := lb.served[1].Load()
	require.Eventually(t, func() bool { return lb.served[1].Load() >= before+6 }, 2*time.Minute, 5*time.Millisecond,
		"the restarted instance takes calls again")
	l.waitFor(t, 6)
	answers := l.stop()

	for _, in := range ins {
		flushInstance(t, in)
	}
	rows := f.usage(t)
	for _, a := range answers {
		require.Equal(t, http.StatusOK, a.status, "%s call (stream %v): %s", a.caller.name, a.stream, a.body)
		if a.stream {
			require.False(t, a.caller.streamError(a.body), "%s: %s", a.caller.name, a.body)
		} else {
			require.NotEmpty(t, a.caller.text(a.body), "%s: %s", a.caller.name, a.body)
		}
		require.Equal(t, http.StatusOK, rows[a.requestID].status, "%s call %s has its usage row", a.caller.name, a.requestID)
	}
	t.Logf("%d calls, all answered 200 with their usage rows; %d in flight on the stopped instance when it was stopped; "+
		"the balancer retried %d connections; served per instance: %d, %d, %d",
		len(answers), inFlight, lb.retried.Load(), lb.served[0].Load(), lb.served[1].Load(), lb.served[2].Load())
}

// flushInstance waits for an instance's calls in flight, then for its queued usage records.
func flushInstance(t *testing.T, in *apptest.Instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Eventually(t, func() bool { return in.App.Relay.InFlight() == 0 }, 30*time.Second, time.Millisecond)
	require.NoError(t, in.App.Usage.Flush(ctx))
}
