package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/metrics"
)

func TestProtocol(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/v1/chat/completions": "openai", "/v1/messages": "claude", "/v1/messages/count_tokens": "claude",
		"/v1beta/models/gemini-2.5-flash:generateContent": "gemini", "/v1/models/gemini-2.5-flash:streamGenerateContent": "gemini",
		"/v1/models": "openai", "/share/abc/v1/chat/completions": "openai", "/api/user/me": "user", "/api/public/settings": "public",
		"/logintoken": "public", "/api/channels": "admin", "/auth/password/login": "auth", "/docs/": "other",
	} {
		require.Equal(t, want, metrics.Protocol(path), path)
	}
}

func TestObserveUsage(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Sources{})
	m.ObserveUsage([]billing.Record{
		{ChannelID: 3, Model: "gpt-4o", StatusCode: 200, PromptTokens: 10, CompletionTokens: 4, CachedTokens: 2, Quota: 9},
		{ChannelID: 3, Model: "gpt-4o", StatusCode: 429},
		{ChannelID: 3, Model: "gpt-4o", StatusCode: 503},
		{ChannelID: 0, Model: "caller-chosen-name", StatusCode: 404}, // not counted: no channel served it
	})
	// A later batch adds to the same series (a model's counters are kept between batches).
	m.ObserveUsage([]billing.Record{
		{ChannelID: 3, Model: "gpt-4o", StatusCode: 200, PromptTokens: 5, Quota: 1},
		{ChannelID: 4, Model: "gpt-4o-mini", StatusCode: 200, CompletionTokens: 7},
	})
	rec := httptest.NewRecorder()
	m.Handler("").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`poolgate_tokens_total{kind="cached",model="gpt-4o"} 2`,
		`poolgate_cost_quota_total{model="gpt-4o"} 10`,
		`poolgate_tokens_total{kind="prompt",model="gpt-4o"} 15`,
		`poolgate_tokens_total{kind="completion",model="gpt-4o-mini"} 7`,
		`poolgate_gateway_calls_total{class="2xx",model="gpt-4o"} 2`,
		`poolgate_gateway_calls_total{class="5xx",model="gpt-4o"} 1`,
		`poolgate_gateway_calls_total{class="4xx",model="gpt-4o"} 1`,
		`poolgate_upstream_errors_total{channel="3",class="rate_limited"} 1`,
		`poolgate_upstream_errors_total{channel="3",class="upstream"} 1`,
	} {
		require.Contains(t, body, want)
	}
	require.False(t, strings.Contains(body, "caller-chosen-name"))
	// A series appears once it has counted something: no zero-valued kinds or classes.
	require.False(t, strings.Contains(body, `kind="prompt",model="gpt-4o-mini"`))
	require.False(t, strings.Contains(body, `class="4xx",model="gpt-4o-mini"`))
	for status, class := range map[int]string{401: "auth", 403: "auth", 400: "client", 429: "rate_limited", 502: "upstream", 500: "server"} {
		require.Equal(t, class, metrics.ErrorClass(status))
	}
}
