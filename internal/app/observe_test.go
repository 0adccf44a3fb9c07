package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

const metricsToken = "metrics-token-0123456789"

func chat(t *testing.T, env *apptest.Env, key string, stream bool) {
	t.Helper()
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]`
	if stream {
		body += `,"stream":true`
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.URL+"/v1/chat/completions", strings.NewReader(body+"}"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode)
}

func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.MetricsToken = metricsToken }))
	env.Channel("main", []string{"gpt-4o-mini"}, "sk-upstream-aaaa1111")
	env.Price("gpt-4o-mini", 3_000_000, 7_000_000)
	u := env.NewUser("alice", 1_000_000)
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "hello", Usage: &fakeupstream.Usage{PromptTokens: 11, CompletionTokens: 5}},
		fakeupstream.Reply{Text: "streamed", Usage: &fakeupstream.Usage{PromptTokens: 7, CompletionTokens: 3}})
	chat(t, env, u.Key, false)
	chat(t, env, u.Key, true)
	env.FlushUsage()

	code, _ := scrape(t, env.URL+"/metrics", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = scrape(t, env.URL+"/metrics", "wrong")
	require.Equal(t, http.StatusUnauthorized, code)
	// A request is counted when its handler returns, which can be just after the client has read
	// the whole answer: wait (bounded) for the second call to be counted.
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		code, body = scrape(t, env.URL+"/metrics", metricsToken)
		if strings.Contains(body, `route="/v1/chat/completions",status="200"} 2`) {
			break
		}
	}
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`poolgate_http_requests_total{protocol="openai",route="/v1/chat/completions",status="200"} 2`,
		`poolgate_http_requests_total{protocol="admin",route="/api/channels",status="201"} 1`,
		`poolgate_http_request_duration_seconds_count{protocol="openai",route="/v1/chat/completions"} 2`,
		`poolgate_stream_first_byte_seconds_count{protocol="openai",route="/v1/chat/completions"} 1`,
		`poolgate_tokens_total{kind="prompt",model="gpt-4o-mini"} 18`,
		`poolgate_tokens_total{kind="completion",model="gpt-4o-mini"} 8`,
		`poolgate_gateway_calls_total{class="2xx",model="gpt-4o-mini"} 2`,
		`poolgate_accounts{state="active"} 1`,
		`poolgate_accounts_cooling 0`,
		`poolgate_usage_queue_depth 0`,
		`poolgate_usage_refused_total 0`,
		`poolgate_hook_outbox_pending 0`,
		`poolgate_dependency_up{dependency="postgres"} 1`,
		`poolgate_dependency_up{dependency="redis"} 1`,
		`poolgate_usage_journal_pending 0`,
		`poolgate_usage_journal_replayed_total 0`,
		`poolgate_usage_journal_fsync_errors_total 0`,
		`poolgate_usage_journal_append_errors_total 0`,
		`poolgate_limits_redis_fallbacks_total 0`,
		`poolgate_limits_redis_resends_total`,
		`poolgate_limits_readmits_total`, `poolgate_limits_local_admits_total`,
		`go_goroutines`,
	} {
		require.Contains(t, body, want)
	}
	require.Regexp(t, `poolgate_cost_quota_total\{model="gpt-4o-mini"\} \d+`, body)
}

func TestMetricsOffWithoutToken(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	code, _ := scrape(t, env.URL+"/metrics", "")
	require.Equal(t, http.StatusNotFound, code, "never public on the main port")
}

// collector is a fake OTLP/HTTP endpoint that keeps the trace exports it receives.
type collector struct {
	mu     sync.Mutex
	bodies []string
	paths  []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies, c.paths = append(c.bodies, string(b)), append(c.paths, r.URL.Path)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func TestTraces(t *testing.T) {
	t.Parallel()
	col := &collector{}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	env := apptest.New(t, apptest.WithoutRedis(), apptest.WithConfig(func(c *config.Config) {
		c.OTelEndpoint, c.OTelServiceName = srv.URL, "poolgate-test"
	}))
	require.True(t, env.App.Tracing.Enabled)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.URL+"/api/public/settings", nil)
	require.NoError(t, err)
	// The caller's trace continues: its trace id is in the exported span.
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, env.App.Tracing.Shutdown(ctx), "shutdown sends the batched spans")
	col.mu.Lock()
	defer col.mu.Unlock()
	require.NotEmpty(t, col.bodies)
	all := strings.Join(col.bodies, "")
	require.Equal(t, "/v1/traces", col.paths[0])
	require.Contains(t, all, "GET /api/public/settings")
	require.Contains(t, all, "poolgate-test")
	require.Contains(t, all, string([]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6}), "the caller's trace id")
}

// TestOperationIDs checks that every route the contracts mount has its operationId for the logs.
func TestOperationIDs(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	ops := app.OperationIDs()
	require.Equal(t, "channelGet", *ops["GET"]["/api/channels/:id"])
	require.Equal(t, "chatCompletionCreate", *ops["POST"]["/v1/chat/completions"])
	missing := []string{}
	for _, r := range env.App.Echo.Routes() {
		if strings.HasPrefix(r.Path, "/api/") && ops[r.Method][r.Path] == nil {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	require.Empty(t, missing, "management routes without an operationId")
}
