package devserver_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/devserver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"))
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDev runs the zero-configuration development server for real: the printed demo key
// answers a normal and a streamed chat completion through the built-in echo upstream, and a
// stream that is open at shutdown finishes.
func TestServeDev(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- devserver.Serve(ctx, cfg, slog.New(slog.DiscardHandler), out) }()
	base := "http://127.0.0.1:" + strconv.Itoa(cfg.Port)
	apptest.WaitHealthy(t, base)
	key := regexp.MustCompile(`demo key\s+(sk-\S+)`).FindStringSubmatch(out.String())
	require.Len(t, key, 2, out.String())
	require.Contains(t, out.String(), "admin      admin / dev-")

	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body)) //nolint:noctx // test
		req.Header.Set("Authorization", "Bearer "+key[1])
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return res
	}
	res := post(`{"model":"echo-1","messages":[{"role":"user","content":"hello poolgate"}]}`)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(b))
	require.Contains(t, string(b), "echo: hello poolgate")

	// A stream open while the server shuts down completes.
	res = post(`{"model":"echo-1","stream":true,"messages":[{"role":"user","content":"one two three four five six seven eight"}]}`)
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	require.True(t, sc.Scan(), "first event")
	cancel()
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	res.Body.Close()
	require.Contains(t, rest.String(), "data: [DONE]")
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
}
