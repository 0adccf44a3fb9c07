package pool_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/pool"
)

func TestDefaultRules(t *testing.T) {
	t.Parallel()
	rules := pool.DefaultConfig().Rules
	for _, tc := range []struct {
		status int
		body   string
		want   pool.Action
	}{
		{429, `{"error":{"message":"Rate limit reached for gpt-4o","code":"rate_limit_exceeded"}}`, pool.ActCool},
		{429, `{"error":{"code":"insufficient_quota"}}`, pool.ActCoolAccount},
		{529, ``, pool.ActCool},
		{503, ``, pool.ActCool},
		{500, ``, pool.ActRetry},
		{502, ``, pool.ActRetry},
		{504, ``, pool.ActRetry},
		{0, ``, pool.ActRetry},
		{401, `{"error":{"code":"invalid_api_key"}}`, pool.ActReauth},
		{403, `{"error":{"message":"This Organization Has Been Disabled."}}`, pool.ActBan},
		{403, `{"type":"error","error":{"type":"permission_error","message":"Your account has been disabled"}}`, pool.ActBan},
		{403, `{"error":{"message":"Country, region, or territory not supported"}}`, pool.ActRetry},
		{400, `{"error":{"code":"context_length_exceeded"}}`, pool.ActReturn},
		{400, `{"error":{"message":"Your credit balance is too low to access the Anthropic API"}}`, pool.ActCoolAccount},
		{404, ``, pool.ActReturn},
		{422, ``, pool.ActReturn},
		{400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`, pool.ActReauth},
		{400, `{"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}}`, pool.ActReturn},
	} {
		require.Equal(t, tc.want, pool.Classify(rules, tc.status, []byte(tc.body)).Action, "%d %s", tc.status, tc.body)
	}
}

// TestConfiguredRules: POOL_ERROR_ACTIONS rows come before the default table; empty means the
// defaults; a bad row is refused.
func TestConfiguredRules(t *testing.T) {
	t.Parallel()
	r, err := pool.ConfiguredRules("418~teapot=cool:2m; 4xx=retry")
	require.NoError(t, err)
	require.Equal(t, append([]pool.Rule{
		{StatusLo: 418, StatusHi: 418, Match: "teapot", Action: pool.ActCool, Cooldown: 2 * time.Minute},
		{StatusLo: 400, StatusHi: 499, Action: pool.ActRetry},
	}, pool.DefaultConfig().Rules...), r)
	r, err = pool.ConfiguredRules(" ")
	require.NoError(t, err)
	require.Nil(t, r)
	_, err = pool.ConfiguredRules("418=explode")
	require.Error(t, err)
}

func TestParseRules(t *testing.T) {
	t.Parallel()
	r, err := pool.ParseRules("418~Teapot=cool:2m;\n5xx=return; conn=ban")
	require.NoError(t, err)
	require.Equal(t, []pool.Rule{
		{StatusLo: 418, StatusHi: 418, Match: "teapot", Action: pool.ActCool, Cooldown: 2 * time.Minute},
		{StatusLo: 500, StatusHi: 599, Action: pool.ActReturn},
		{Action: pool.ActBan},
	}, r)
	for _, bad := range []string{"429", "42=cool", "429=nap", "429=cool:soon", "6xx=retry"} {
		_, err := pool.ParseRules(bad)
		require.Error(t, err, bad)
	}
}

func TestResetAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		h    http.Header
		body string
		want time.Duration
	}{
		{h("Retry-After", "7"), "", 7 * time.Second},
		{h("Retry-After", now.Add(time.Minute).Format(http.TimeFormat)), "", time.Minute},
		{h("Retry-After-Ms", "1500"), "", 1500 * time.Millisecond},
		{h("X-Ratelimit-Reset-Requests", "6m0s", "X-Ratelimit-Reset-Tokens", "20ms"), "", 6 * time.Minute},
		{h("Anthropic-Ratelimit-Requests-Reset", now.Add(90*time.Second).Format(time.RFC3339)), "", 90 * time.Second},
		{h("X-Ratelimit-Reset", "30"), "", 30 * time.Second},
		{h(), `{"error":{"details":[{"retryDelay": "45s"}]}}`, 45 * time.Second},
		{h(), `Please try again in 1.5s. Visit ...`, 1500 * time.Millisecond},
		{h(), `nothing`, 0},
	} {
		require.Equal(t, tc.want, pool.ResetAfter(tc.h, []byte(tc.body), now), "%v %s", tc.h, tc.body)
	}
}

func TestSession(t *testing.T) {
	t.Parallel()
	members := func(body string) (m, p, u gjson.Result) {
		return gjson.Get(body, "metadata"), gjson.Get(body, "prompt_cache_key"), gjson.Get(body, "user")
	}
	for _, tc := range []struct {
		h    http.Header
		body string
		want string
	}{
		{http.Header{"X-Poolgate-Session": {"s1"}}, `{"user":"u"}`, "s1"},
		{http.Header{}, `{"metadata":{"user_id":"abc"},"user":"u"}`, "m:abc"},
		{http.Header{}, `{"metadata":{"user_id":""},"prompt_cache_key":"k","user":"u"}`, "p:k"},
		{http.Header{}, `{"metadata":"abc","user":"u"}`, "u:u"},
		{http.Header{}, `{"user":"u"}`, "u:u"},
		{http.Header{}, `{"user":42}`, ""},
		{http.Header{}, `{"user":"` + strings.Repeat("x", 600) + `"}`, "u:" + strings.Repeat("x", 512)},
	} {
		m, p, u := members(tc.body)
		require.Equal(t, tc.want, pool.Session(tc.h, m, p, u), tc.body)
	}
}

func TestStripArtefacts(t *testing.T) {
	t.Parallel()
	plain := []byte(`{"model":"m","messages":[{"role":"user","content":"signature is a word"}]}`)
	out, changed := pool.StripArtefacts(plain)
	require.False(t, changed)
	require.Equal(t, plain, out)

	claude := []byte(`{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"S"},` +
		`{"type":"redacted_thinking","data":"D"},{"type":"text","text":"hi"}]},{"role":"user","content":"more"}]}`)
	out, changed = pool.StripArtefacts(claude)
	require.True(t, changed)
	require.JSONEq(t, `{"messages":[{"role":"assistant","content":[{"type":"text","text":"hi"}]},{"role":"user","content":"more"}]}`, string(out))

	responses := []byte(`{"input":[{"type":"message","role":"user","content":"q"},{"type":"reasoning","id":"rs_1",` +
		`"summary":[],"encrypted_content":"E"},{"type":"message","role":"user","content":"q2"}]}`)
	out, changed = pool.StripArtefacts(responses)
	require.True(t, changed)
	require.JSONEq(t, `{"input":[{"type":"message","role":"user","content":"q"},{"type":"message","role":"user","content":"q2"}]}`, string(out))

	gemini := []byte(`{"contents":[{"role":"model","parts":[{"text":"a","thoughtSignature":"T"}]}]}`)
	out, changed = pool.StripArtefacts(gemini)
	require.True(t, changed)
	require.JSONEq(t, `{"contents":[{"role":"model","parts":[{"text":"a"}]}]}`, string(out))
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	l, err := pool.ParseLimit("60/3h")
	require.NoError(t, err)
	require.Equal(t, pool.Limit{N: 60, Window: 3 * time.Hour}, l)
	l, err = pool.ParseLimit("1000/1d")
	require.NoError(t, err)
	require.Equal(t, pool.Limit{N: 1000, Window: 24 * time.Hour}, l)
	for _, bad := range []string{"60", "0/1h", "x/1h", "5/soon", "5/0d"} {
		_, err := pool.ParseLimit(bad)
		require.Error(t, err, bad)
	}
}

func TestPlanOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	p := pool.New(pool.Deps{Now: func() time.Time { return now }})
	m := []string{"m"}
	s := p.Build([]pool.Spec{
		{ID: 1, ChannelID: 1, Models: m, Priority: 10, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree},
		{ID: 2, ChannelID: 1, Models: m, Priority: 10, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree},
		{ID: 3, ChannelID: 2, Models: m, Priority: 0, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree},
		{ID: 4, ChannelID: 3, Models: m, Priority: 20, Weight: 1, ChannelWeight: 1, Tier: pool.TierUltra},
		{ID: 5, ChannelID: 4, Models: m, Priority: -5, Weight: 1, ChannelWeight: 1, Owner: 7},
		{ID: 6, ChannelID: 5, Models: m, Priority: 0, Weight: 1, ChannelWeight: 1, Users: []int64{8}},
	})
	ids := func(pl pool.Plan) []int64 {
		var out []int64
		for _, a := range pl.Accounts {
			out = append(out, a.ID)
		}
		return out
	}
	// Free user: priority 10 (round robin between 1 and 2), then 0; never ultra, dedicated or user-channel accounts.
	got := ids(p.Plan(s, pool.Request{Model: "m", User: 1, Tier: pool.TierFree}, 10))
	require.ElementsMatch(t, []int64{1, 2}, got[:2])
	require.Equal(t, []int64{3}, got[2:])
	next := ids(p.Plan(s, pool.Request{Model: "m", User: 1, Tier: pool.TierFree}, 10))
	require.NotEqual(t, got[0], next[0], "least recently used first")
	// Ultra user: the ultra account's priority wins.
	require.Equal(t, int64(4), ids(p.Plan(s, pool.Request{Model: "m", User: 1, Tier: pool.TierUltra}, 10))[0])
	// Owner 7: its dedicated account first, then the shared pool.
	got = ids(p.Plan(s, pool.Request{Model: "m", User: 7, Tier: pool.TierFree}, 10))
	require.Equal(t, int64(5), got[0])
	require.Len(t, got, 4)
	// User 8's channel; preferred and bound accounts first when eligible.
	require.Equal(t, int64(6), ids(p.Plan(s, pool.Request{Model: "m", User: 8}, 10))[0])
	require.Equal(t, int64(3), ids(p.Plan(s, pool.Request{Model: "m", User: 1, Prefer: 3}, 10))[0])
	require.Equal(t, int64(3), ids(p.Plan(s, pool.Request{Model: "m", User: 1, Bound: 3}, 10))[0])
	require.NotContains(t, ids(p.Plan(s, pool.Request{Model: "m", User: 1, Prefer: 5}, 10)), int64(5), "another user's dedicated account")
	require.NotContains(t, ids(p.Plan(s, pool.Request{Model: "m", User: 1, Prefer: 4}, 10)), int64(4), "above the user's tier")

	// Cooling accounts are skipped until their cooldown ends.
	ctx := t.Context()
	for _, id := range []int64{1, 2, 3} {
		p.Cool(ctx, id, "m", now.Add(time.Minute))
	}
	pl := p.Plan(s, pool.Request{Model: "m", User: 1}, 10)
	require.Empty(t, pl.Accounts)
	require.True(t, pl.Cooling)
	require.WithinDuration(t, now.Add(time.Minute), pl.RetryAt, 2*time.Millisecond)
	require.Equal(t, []int64{4}, ids(p.Plan(s, pool.Request{Model: "m", User: 1, Tier: pool.TierUltra}, 10)))

	// A model nobody at the caller's tier serves.
	s2 := p.Build([]pool.Spec{{ID: 9, ChannelID: 9, Models: []string{"x"}, Weight: 1, ChannelWeight: 1, Tier: pool.TierPro}})
	require.True(t, p.Plan(s2, pool.Request{Model: "x", User: 1, Tier: pool.TierFree}, 3).TierDenied)
}
