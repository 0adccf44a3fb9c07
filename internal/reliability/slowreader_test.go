package reliability_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/relay"
)

// bigStreams makes every answer of the fake upstream a long text (one event per word) and counts
// the bytes it has written to each call.
type bigStreams struct {
	up    *fakeupstream.Server
	text  string
	mu    sync.Mutex
	wrote []*atomic.Int64
}

func (b *bigStreams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := &atomic.Int64{}
	b.mu.Lock()
	b.wrote = append(b.wrote, n)
	b.mu.Unlock()
	b.up.Enqueue(fakeupstream.Reply{Text: b.text})
	b.up.ServeHTTP(&countingWriter{ResponseWriter: w, n: n}, r)
}

// written returns the bytes written so far to each call.
func (b *bigStreams) written() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]int64, len(b.wrote))
	for i, n := range b.wrote {
		out[i] = n.Load()
	}
	return out
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// smallSendBuffer fixes the upstream's socket send buffers at 64 KiB, so what the upstream has
// written is close to what the gateway has taken from it.
type smallSendBuffer struct{ net.Listener }

func (l smallSendBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(64 << 10)
	}
	return c, err
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// TestSlowReaders opens a big stream (64 MiB) in each protocol and reads only their first
// bytes, through sockets with a small receive buffer, as a slow or stuck client would. The
// gateway does not read ahead of its caller: the upstream is held back (it cannot finish), the
// heap grows by a bounded amount per held stream, and when the callers go away every upstream
// call is cancelled and each call is logged 499 and charged for what was generated.
//
// It is the package's one test that does not run in parallel: the heap it measures is the whole
// process's, so it runs before the parallel tests start.
func TestSlowReaders(t *testing.T) {
	// Long upstream bounds: on a loaded machine the first event of a big answer can take seconds.
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.UpstreamTimeout = 30 * time.Second }))
	big := &bigStreams{up: fakeupstream.New(fakeupstream.WithoutRecording()), text: strings.Repeat(strings.Repeat("x", 4095)+" ", 16_000)}
	upSrv := httptest.NewUnstartedServer(big)
	upSrv.Listener = smallSendBuffer{upSrv.Listener}
	upSrv.Start()
	t.Cleanup(upSrv.Close)
	env.UpstreamURL = upSrv.URL + "/v1"
	f := &faultEnv{env: env}
	env.Channel("slow", []string{faultModel}, "sk-upstream-slow-aaaa")
	env.Price(faultModel, 3_000_000, 7_000_000)
	f.user = env.NewUser("slow-user", 100_000_000)

	// A client whose sockets keep only 16 KiB unread (no receive-buffer autotuning).
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
		if err != nil {
			return err
		}
		return serr
	}}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, ReadBufferSize: 4 << 10,
		DisableCompression: true, MaxConnsPerHost: 0}}
	t.Cleanup(client.CloseIdleConnections)

	base := heapInUse()
	const perProtocol = 1
	type held struct {
		res    *http.Response
		cancel context.CancelFunc
		id     string
	}
	var streams []held
	for _, c := range callers {
		for range perProtocol {
			ctx, cancel := context.WithCancel(context.Background())
			res, err := client.Do(c.request(env.URL, f.user.Key, true).WithContext(ctx))
			require.NoError(t, err)
			if res.StatusCode != http.StatusOK {
				body, _ := readBody(res)
				t.Fatalf("%s: %d %.500s", c.name, res.StatusCode, body)
			}
			buf := make([]byte, 4<<10)
			_, err = res.Body.Read(buf) // the first bytes, then the caller stops reading
			require.NoError(t, err)
			streams = append(streams, held{res: res, cancel: cancel, id: res.Header.Get("X-Request-Id")})
		}
	}
	n := len(streams)
	t.Cleanup(func() {
		for _, s := range streams {
			s.cancel()
			_ = s.res.Body.Close()
		}
	})

	// Wait until the upstream's writes have stopped: the held-back state.
	var last []int64
	require.Eventually(t, func() bool {
		cur := big.written()
		same := len(cur) == n && len(last) == n
		for i := range cur {
			same = same && cur[i] == last[i]
		}
		last = cur
		return same
	}, 2*time.Minute, 250*time.Millisecond, "the upstream is held back by the slow callers")
	growth := heapInUse() - base
	var maxWritten int64
	for _, w := range last {
		maxWritten = max(maxWritten, w)
	}
	// Each word is an event of a little more than its 4 KiB. The kernel's socket buffers between
	// the upstream and the gateway (autotuned up to tcp_rmem's 32 MiB here) and between the
	// gateway and its caller hold part of an answer whatever the gateway does: the answer is
	// larger than all of them.
	total := int64(len(big.text))
	t.Logf("%d held streams: heap +%d KiB in all (%d KiB per stream); the upstream wrote at most %d KiB of each answer (> %d KiB)",
		n, growth>>10, growth/int64(n)>>10, maxWritten>>10, total>>10)
	require.Less(t, growth/int64(n), int64(4<<20), "a held stream costs the gateway a bounded amount of memory")
	require.Less(t, maxWritten, total*3/4, "the gateway does not read the answer ahead of its caller")

	before := big.up.Cancelled()
	for _, s := range streams {
		s.cancel()
		_ = s.res.Body.Close()
	}
	require.Eventually(t, func() bool { return big.up.Cancelled() >= before+int64(n) }, time.Minute, 5*time.Millisecond,
		"every upstream call is cancelled when its caller goes away")
	rows := f.usage(t)
	for _, s := range streams {
		require.Equal(t, relay.StatusClientClosed, rows[s.id].status, "the call is logged as ended by its caller")
		require.Positive(t, rows[s.id].quota, "what was generated is charged")
	}
}
