package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/testsvc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(apptest.ScanSecrets(m),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"))
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url) //nolint:noctx // test
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestDocsAndSpecs(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	code, body := get(t, env.URL+"/docs/")
	require.Equal(t, http.StatusOK, code)
	for _, c := range []string{"gateway", "public", "auth", "user", "admin", "hooks"} {
		require.Contains(t, body, `/openapi/`+c+`.yaml`, "Swagger UI lists every contract")
		code, spec := get(t, env.URL+"/openapi/"+c+".yaml")
		require.Equal(t, http.StatusOK, code)
		require.True(t, strings.HasPrefix(spec, "openapi: 3.0.3"))
	}
	code, _ = get(t, env.URL+"/openapi/common/schemas.yaml")
	require.Equal(t, http.StatusOK, code, "shared schemas resolve for Swagger UI")
	code, js := get(t, env.URL+"/docs/swagger-ui-bundle.js")
	require.Equal(t, http.StatusOK, code, "assets are embedded, no CDN")
	require.Greater(t, len(js), 100_000)
	code, _ = get(t, env.URL+"/openapi/../go.mod")
	require.Equal(t, http.StatusNotFound, code)
	code, _ = get(t, env.URL+"/openapi/embed.go")
	require.Equal(t, http.StatusNotFound, code)
}

// TestShutdownLetsStreamsFinish holds a slow upstream stream open across shutdown.
func TestShutdownLetsStreamsFinish(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	env.Channel("slow", []string{"slow-model"}, "sk-upstream-slow-0001")
	env.Price("slow-model", 1, 1)
	u := env.NewUser("streamer", 1_000_000)
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "a b c d e f", EventDelay: 100 * time.Millisecond})

	cfg := apptest.Config(t)
	cfg.DatabaseURL = env.DatabaseURL
	cfg.DebugAddr = "127.0.0.1:" + strconv.Itoa(testsvc.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{}) }()
	base := "http://127.0.0.1:" + strconv.Itoa(cfg.Port)
	apptest.WaitHealthy(t, base)

	// Runtime profiles are served on DEBUG_ADDR only, never on the public listener.
	res, err := http.Get("http://" + cfg.DebugAddr + "/debug/pprof/") //nolint:noctx // test
	require.NoError(t, err)
	index, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(index), "goroutine")
	res, err = http.Get(base + "/debug/pprof/") //nolint:noctx // test
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", //nolint:noctx // test
		strings.NewReader(`{"model":"slow-model","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("Authorization", "Bearer "+u.Key)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1))
	require.Len(t, b, 1, "stream started")
	cancel()
	rest, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(rest), "data: [DONE]", "the open stream finished during shutdown")
	require.NoError(t, <-done)
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	req, _ := http.NewRequest(http.MethodDelete, env.URL+"/api/setup/status", nil) //nolint:noctx // test
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.JSONEq(t, `{"detail":{"error":"method not allowed","code":"method_not_allowed"}}`, string(b))
}
