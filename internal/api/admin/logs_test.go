package admin_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

// seedLog is one usage log row written straight into the database.
type seedLog struct {
	user, key, channel, account int64 // 0: none
	model, upstream             string
	status, duration            int
	firstToken                  int // 0: not streamed
	at                          string
	quota, prompt, completion   int64
}

func seedLogs(t *testing.T, env *apptest.Env, logs []seedLog) {
	t.Helper()
	for i, l := range logs {
		at, err := time.Parse(time.RFC3339, l.at)
		require.NoError(t, err)
		var ft *int
		if l.firstToken != 0 {
			ft = &l.firstToken
		}
		_, err = env.App.Pool.Exec(t.Context(), `INSERT INTO usage_logs (request_id, user_id, api_key_id, channel_id,
			account_id, model, upstream_model, endpoint, stream, status_code, duration_ms, first_token_ms, created_at, quota,
			prompt_tokens, completion_tokens)
			VALUES ($1, $2, nullif($3, 0), nullif($4, 0), nullif($5, 0), $6, $7, '/v1/chat/completions', $8, $9, $10, $11, $12,
			$13, $14, $15)`,
			"req-"+string(rune('a'+i)), l.user, l.key, l.channel, l.account, l.model, l.upstream, ft != nil, l.status,
			l.duration, ft, at, l.quota, l.prompt, l.completion)
		require.NoError(t, err)
	}
}

type logsBundle struct {
	*testBundle
	alice, bob *apptest.TestUser
}

func logsSetup(t *testing.T) *logsBundle {
	t.Helper()
	b := &logsBundle{testBundle: setup(t)}
	b.alice, b.bob = b.env.NewUser("alice", 0), b.env.NewUser("bob", 0)
	a, k := b.alice.ID, b.alice.KeyID
	seedLogs(t, b.env, []seedLog{
		{user: a, key: k, channel: 1, account: 4, model: "gpt-4o", upstream: "gpt-4o-2024-11-20", status: 200, duration: 100,
			firstToken: 40, at: "2026-11-21T10:00:00Z", quota: 30, prompt: 10, completion: 20},
		{user: a, key: k, channel: 1, model: "gpt-4o-mini", upstream: "gpt-4o-mini", status: 429, duration: 5,
			at: "2026-11-21T23:30:00Z"},
		{user: b.bob.ID, channel: 2, account: 5, model: "gpt-4o", upstream: "gpt-4o", status: 502, duration: 900,
			at: "2026-11-22T01:00:00Z"},
		{user: b.bob.ID, channel: 2, account: 5, model: "gpt-4o", upstream: "gpt-4o", status: 200, duration: 300,
			firstToken: 80, at: "2026-11-22T02:00:00Z", quota: 70, prompt: 30, completion: 40},
		{user: a, key: k, model: "=HYPERLINK(\"x\")", upstream: "", status: 401, duration: 1, at: "2026-11-22T03:00:00Z"},
	})
	return b
}

func ids(items []commonclient.UsageLog) []string {
	out := make([]string, len(items))
	for i, l := range items {
		out[i] = l.RequestId
	}
	return out
}

func TestLogList(t *testing.T) {
	t.Parallel()
	b := logsSetup(t)

	// Cursor pages, newest first.
	res, err := b.admin.LogListWithResponse(b.ctx, &adminclient.LogListParams{Limit: ptr(2)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, []string{"req-e", "req-d"}, ids(res.JSON200.Items))
	require.NotNil(t, wire.Ptr(res.JSON200.NextCursor))
	all := ids(res.JSON200.Items)
	for cur := wire.Ptr(res.JSON200.NextCursor); cur != nil; {
		p, err := b.admin.LogListWithResponse(b.ctx, &adminclient.LogListParams{Limit: ptr(2), Cursor: cur})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, p.StatusCode(), string(p.Body))
		all = append(all, ids(p.JSON200.Items)...)
		cur = wire.Ptr(p.JSON200.NextCursor)
	}
	require.Equal(t, []string{"req-e", "req-d", "req-c", "req-b", "req-a"}, all)

	first := res.JSON200.Items[1]
	require.Equal(t, "gpt-4o", first.Model)
	require.Equal(t, "gpt-4o", first.UpstreamModel)
	require.Equal(t, 80, first.FirstTokenMs.MustGet())

	from := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	to := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		p    adminclient.LogListParams
		want []string
	}{
		"User":        {adminclient.LogListParams{UserId: &b.bob.ID}, []string{"req-d", "req-c"}},
		"Key":         {adminclient.LogListParams{ApiKeyId: &b.alice.KeyID}, []string{"req-e", "req-b", "req-a"}},
		"Model":       {adminclient.LogListParams{Model: ptr("gpt-4o")}, []string{"req-d", "req-c", "req-a"}},
		"Channel":     {adminclient.LogListParams{ChannelId: ptr(int64(1))}, []string{"req-b", "req-a"}},
		"Account":     {adminclient.LogListParams{AccountId: ptr(int64(5))}, []string{"req-d", "req-c"}},
		"Served":      {adminclient.LogListParams{StatusClass: ptr(commonclient.N2xx)}, []string{"req-d", "req-a"}},
		"ClientError": {adminclient.LogListParams{StatusClass: ptr(commonclient.N4xx)}, []string{"req-e", "req-b"}},
		"ServerError": {adminclient.LogListParams{StatusClass: ptr(commonclient.N5xx)}, []string{"req-c"}},
		"RequestID":   {adminclient.LogListParams{RequestId: ptr("req-c")}, []string{"req-c"}},
		"TimeRange":   {adminclient.LogListParams{From: &from, To: &to}, []string{"req-c", "req-b"}},
		"Combined":    {adminclient.LogListParams{UserId: &b.alice.ID, StatusClass: ptr(commonclient.N4xx), Model: ptr("gpt-4o-mini")}, []string{"req-b"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := b.admin.LogListWithResponse(b.ctx, &tc.p)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
			require.Equal(t, tc.want, ids(res.JSON200.Items))
			require.Nil(t, wire.Ptr(res.JSON200.NextCursor))
		})
	}

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		for _, p := range []adminclient.LogListParams{{Limit: ptr(501)}, {UserId: ptr(int64(0))}, {Cursor: ptr("abc")},
			{From: &to, To: &from}} {
			res, err := b.raw.LogListWithResponse(b.ctx, &p)
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
		}
	})

	t.Run("Own", func(t *testing.T) {
		t.Parallel()
		mine, err := b.env.User(b.alice.Token).UsageLogUserListWithResponse(b.ctx, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, mine.StatusCode(), string(mine.Body))
		require.Equal(t, []string{"req-e", "req-b", "req-a"}, ids(mine.JSON200.Items))
		mine, err = b.env.User(b.bob.Key).UsageLogUserListWithResponse(b.ctx, &userclient.UsageLogUserListParams{
			StatusClass: ptr(commonclient.N5xx)})
		require.NoError(t, err)
		require.Equal(t, []string{"req-c"}, ids(mine.JSON200.Items))
		// A request id of another user's call finds nothing.
		mine, err = b.env.User(b.bob.Token).UsageLogUserListWithResponse(b.ctx, &userclient.UsageLogUserListParams{RequestId: ptr("req-a")})
		require.NoError(t, err)
		require.Empty(t, mine.JSON200.Items)
	})
}

func TestLogExport(t *testing.T) {
	t.Parallel()
	b := logsSetup(t)

	res, err := b.admin.LogExportWithResponse(b.ctx, &adminclient.LogExportParams{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, "text/csv", res.HTTPResponse.Header.Get("Content-Type"))
	require.Contains(t, res.HTTPResponse.Header.Get("Content-Disposition"), "usage-logs.csv")
	rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 6)
	require.Equal(t, "id", rows[0][0])
	require.Equal(t, "upstream_model", rows[0][8])
	require.Equal(t, "req-e", rows[1][2])
	require.Equal(t, `'=HYPERLINK("x")`, rows[1][7], "a formula is defused")
	require.Equal(t, []string{"gpt-4o", "gpt-4o-2024-11-20", "/v1/chat/completions", "true", "200"}, rows[5][7:12])
	require.Equal(t, "40", rows[5][20])

	res, err = b.admin.LogExportWithResponse(b.ctx, &adminclient.LogExportParams{UserId: &b.bob.ID, StatusClass: ptr(commonclient.N2xx)})
	require.NoError(t, err)
	rows, err = csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "req-d", rows[1][2])

	bad, err := b.raw.LogExportWithResponse(b.ctx, &adminclient.LogExportParams{StatusClass: ptr(commonclient.StatusClass("3xx"))})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", bad.StatusCode(), bad.Body)

	u := b.env.AdminAs(b.alice.Token)
	denied, err := u.LogExportWithResponse(b.ctx, nil)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "forbidden", "", denied.StatusCode(), denied.Body)
}

func statsKeys(s *commonclient.Stats) []string {
	out := []string{}
	for _, r := range s.Items {
		out = append(out, r.Key)
	}
	return out
}

func TestStats(t *testing.T) {
	t.Parallel()
	b := logsSetup(t)
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

	res, err := b.admin.StatsGetWithResponse(b.ctx, &adminclient.StatsGetParams{From: &from, To: &to})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, "UTC", res.JSON200.Tz)
	require.Equal(t, commonclient.StatsGroupByDay, res.JSON200.GroupBy)
	require.Equal(t, []string{"2026-11-21T00:00:00", "2026-11-22T00:00:00"}, statsKeys(res.JSON200))
	day1 := res.JSON200.Items[0]
	require.EqualValues(t, 2, day1.Calls)
	require.EqualValues(t, 30, day1.Quota)
	require.EqualValues(t, 10, day1.PromptTokens)
	require.Equal(t, commonclient.StatsErrors{Total: 1, RateLimited: 1}, day1.Errors)
	require.Equal(t, 5, day1.LatencyMs.P50.MustGet())
	require.Equal(t, 100, day1.LatencyMs.P99.MustGet())
	require.Equal(t, 40, day1.FirstTokenMs.P50.MustGet())

	// In Shanghai (UTC+8) the call at 23:30 UTC on the 21st falls on the 22nd.
	res, err = b.admin.StatsGetWithResponse(b.ctx, &adminclient.StatsGetParams{From: &from, To: &to, Tz: ptr("Asia/Shanghai")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, []string{"2026-11-21T00:00:00", "2026-11-22T00:00:00"}, statsKeys(res.JSON200))
	require.EqualValues(t, 1, res.JSON200.Items[0].Calls)
	require.EqualValues(t, 4, res.JSON200.Items[1].Calls)

	res, err = b.admin.StatsGetWithResponse(b.ctx, &adminclient.StatsGetParams{From: &from, To: &to,
		GroupBy: ptr(commonclient.StatsGroupByModel)})
	require.NoError(t, err)
	require.Equal(t, []string{"=HYPERLINK(\"x\")", "gpt-4o", "gpt-4o-mini"}, statsKeys(res.JSON200))
	g := res.JSON200.Items[1]
	require.EqualValues(t, 3, g.Calls)
	require.EqualValues(t, 100, g.Quota)
	require.Equal(t, commonclient.StatsErrors{Total: 1, Upstream: 1}, g.Errors)
	require.Equal(t, 300, g.LatencyMs.P50.MustGet())
	require.Equal(t, 900, g.LatencyMs.P95.MustGet())
	require.Equal(t, 40, g.FirstTokenMs.P50.MustGet())
	require.Equal(t, 80, g.FirstTokenMs.P99.MustGet())
	require.Nil(t, wire.Ptr(res.JSON200.Items[2].FirstTokenMs.P50), "no stream timed")
	require.Equal(t, commonclient.StatsErrors{Total: 1, Auth: 1}, res.JSON200.Items[0].Errors)

	for by, want := range map[commonclient.StatsGroupBy][]string{
		commonclient.StatsGroupByChannel: {"", "1", "2"},
		commonclient.StatsGroupByKey:     {"", itoa(b.alice.KeyID)},
		commonclient.StatsGroupByHour:    {"2026-11-21T10:00:00", "2026-11-21T23:00:00", "2026-11-22T01:00:00", "2026-11-22T02:00:00", "2026-11-22T03:00:00"},
	} {
		res, err = b.admin.StatsGetWithResponse(b.ctx, &adminclient.StatsGetParams{From: &from, To: &to, GroupBy: &by})
		require.NoError(t, err)
		require.Equal(t, want, statsKeys(res.JSON200), by)
	}
	res, err = b.admin.StatsGetWithResponse(b.ctx, &adminclient.StatsGetParams{From: &from, To: &to,
		GroupBy: ptr(commonclient.StatsGroupByUser), ChannelId: ptr(int64(2))})
	require.NoError(t, err)
	require.Equal(t, []string{itoa(b.bob.ID)}, statsKeys(res.JSON200))

	// The default range is the 7 days before now: the seeded calls are older.
	res, err = b.admin.StatsGetWithResponse(b.ctx, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.WithinDuration(t, time.Now(), res.JSON200.To, time.Minute)
	require.Equal(t, 7*24*time.Hour, res.JSON200.To.Sub(res.JSON200.From))

	for _, p := range []adminclient.StatsGetParams{{Tz: ptr("Mars/Olympus")}, {Tz: ptr("Local")}, {From: &to, To: &from}} {
		bad, err := b.raw.StatsGetWithResponse(b.ctx, &p)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", bad.StatusCode(), bad.Body)
	}

	t.Run("Own", func(t *testing.T) {
		t.Parallel()
		mine, err := b.env.User(b.alice.Token).UsageStatsUserGetWithResponse(b.ctx, &userclient.UsageStatsUserGetParams{
			From: &from, To: &to, GroupBy: ptr(userclient.Model)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, mine.StatusCode(), string(mine.Body))
		require.Equal(t, []string{"=HYPERLINK(\"x\")", "gpt-4o", "gpt-4o-mini"}, statsKeys(mine.JSON200))
		require.EqualValues(t, 1, mine.JSON200.Items[1].Calls, "bob's gpt-4o calls are not alice's")
	})
}
