//go:build linux

package upstreamhttp_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLargeRequestToSlowReader: a request larger than the socket's buffers, to an upstream that
// reads it only after a while, is sent whole (the last bytes wait for room as net does) and its
// answer read on the same connection.
func TestLargeRequestToSlowReader(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond) // the client's writes fill the socket buffers meanwhile
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, strconv.Itoa(len(b)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	t.Cleanup(srv.Close)
	// Small socket buffers on both sides, so the request's last bytes find no room at once.
	small := func(opt int) func(string, string, syscall.RawConn) error {
		return func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 4096) })
		}
	}
	l, err := (&net.ListenConfig{Control: small(syscall.SO_RCVBUF)}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	dialer := &net.Dialer{Control: small(syscall.SO_SNDBUF)}
	tr := setup(t, func(fb *http.Transport) { fb.DialContext = dialer.DialContext })
	for _, n := range []int{8<<20 + 3, 12 << 10, 8<<10 + 5, 3} {
		resp, err := post(t, t.Context(), tr, srv.URL, strings.Repeat("a", n))
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(n), string(b))
	}
	require.EqualValues(t, 1, conns.Load())
}
