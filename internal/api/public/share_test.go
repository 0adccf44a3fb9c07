package public_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/public"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

func sharePtr[T any](v T) *T { return &v }

// rawJSON sends a request through the response-validating client and decodes the body generically.
func rawJSON(t *testing.T, env *apptest.Env, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := env.RawHTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return res.StatusCode, out
}

func jsonKeys(m any) []string {
	var out []string
	for k := range m.(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// chat makes one gateway call with the key and returns its status.
func chat(t *testing.T, env *apptest.Env, key string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions",
		bytes.NewReader([]byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := env.RawHTTP.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

type shareBundle struct {
	env            *apptest.Env
	ch             int64
	pro, free, own adminclient.Account
	user           *apptest.TestUser
}

func shareSetup(t *testing.T) *shareBundle {
	t.Helper()
	env := apptest.New(t)
	ctx := context.Background()
	b := &shareBundle{env: env, user: env.NewUser("alice", 1_000_000)}
	b.ch = env.Channel("main", []string{"gpt-4o-mini"})
	env.Price("gpt-4o-mini", 1, 1)
	mk := func(body adminclient.AccountCreate) adminclient.Account {
		res, err := env.Admin().AccountCreateWithResponse(ctx, b.ch, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		return *res.JSON201
	}
	b.pro = mk(adminclient.AccountCreate{Name: sharePtr("car-pro"), Nickname: sharePtr("显示名称"), Credential: "sk-upstream-pro-0001",
		Tier: sharePtr(adminclient.Pro), Limits: &adminclient.AccountLimits{"*": "10/1h"}})
	b.free = mk(adminclient.AccountCreate{Name: sharePtr("car-free"), Credential: "sk-upstream-free-0002"})
	b.own = mk(adminclient.AccountCreate{Name: sharePtr("car-own"), Credential: "sk-upstream-own-0003", OwnerUserId: wire.Opt(&b.user.ID)})
	return b
}

func TestCarPage(t *testing.T) {
	t.Parallel()
	b := shareSetup(t)
	ctx := context.Background()
	up, err := b.env.Admin().AccountUpdateWithResponse(ctx, b.ch, b.free.Id, adminclient.AccountUpdate{Status: sharePtr(adminclient.ActiveStatusDisabled)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))

	// Field by field against seed 000.
	status, body := rawJSON(t, b.env, http.MethodPost, "/carpage", `{"page": 1, "size": 10}`)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []string{"code", "data", "messages", "notice"}, jsonKeys(body))
	require.EqualValues(t, 0, body["code"])
	require.Equal(t, "success", body["messages"])
	require.Equal(t, "", body["notice"])
	data := body["data"].(map[string]any)
	require.Equal(t, []string{"accounts", "page", "size", "total"}, jsonKeys(data))
	require.EqualValues(t, 2, data["total"], "dedicated accounts are not listed")
	require.EqualValues(t, 1, data["page"])
	require.EqualValues(t, 10, data["size"])
	accs := data["accounts"].([]any)
	require.Len(t, accs, 2)
	require.Equal(t, []string{"disabled", "id", "name", "nickname", "type"}, jsonKeys(accs[0]))
	require.Equal(t, map[string]any{"id": float64(b.pro.Id), "name": "car-pro", "nickname": "显示名称", "type": "pro", "disabled": false}, accs[0])
	require.Equal(t, map[string]any{"id": float64(b.free.Id), "name": "car-free", "nickname": "", "type": "free", "disabled": true}, accs[1])

	// Paging, through the generated client.
	res, err := b.env.Public().CarPageListWithResponse(ctx, publicclient.CarPageListJSONRequestBody{Page: sharePtr(2), Size: sharePtr(1)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode())
	require.Len(t, res.JSON200.Data.Accounts, 1)
	require.Equal(t, b.free.Id, res.JSON200.Data.Accounts[0].Id)
	require.EqualValues(t, 2, res.JSON200.Data.Total)

	// The notice is the carpage_notice setting.
	notice := "公告内容"
	set, err := b.env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{CarpageNotice: &notice})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	require.Equal(t, notice, set.JSON200.CarpageNotice)
	status, body = rawJSON(t, b.env, http.MethodPost, "/carpage", `{}`)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, notice, body["notice"])

	status, body = rawJSON(t, b.env, http.MethodPost, "/carpage", `{"page": 0}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, []string{"code", "msg"}, jsonKeys(body))
	require.EqualValues(t, -1, body["code"])
}

func TestCarStatusAndBadge(t *testing.T) {
	t.Parallel()
	b := shareSetup(t)
	q := func(path, carid string) (int, map[string]any) {
		return rawJSON(t, b.env, http.MethodGet, path+"?carid="+url.QueryEscape(carid), "")
	}
	// A fresh pro account: ready, nothing counted.
	status, body := q("/status", strconv.FormatInt(b.pro.Id, 10))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"isPlus": true, "accountReady": true, "count": float64(0), "clears_in": float64(0), "team_clears_in": float64(0)}, body)
	status, body = q("/endpoint", "car-pro")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"schemaVersion": float64(1), "label": "Poolgate Status", "message": "Ready", "color": "green"}, body)

	// Calls count in its window (an ultra user so it may ride the pro account), then a rate
	// limit cools it.
	ultra := sharePtr(adminclient.Ultra)
	u, err := b.env.Admin().UserUpdateWithResponse(context.Background(), b.user.ID, adminclient.UserUpdate{Tier: ultra})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, u.StatusCode(), string(u.Body))
	other := b.env.NewUser("bob", 1_000_000)
	_, err = b.env.Admin().UserUpdateWithResponse(context.Background(), other.ID, adminclient.UserUpdate{Tier: ultra})
	require.NoError(t, err)
	for range 6 {
		require.Equal(t, http.StatusOK, chat(t, b.env, other.Key))
	}
	status, body = q("/status", "显示名称")
	require.Equal(t, http.StatusOK, status)
	require.Greater(t, body["count"], float64(0))
	require.InDelta(t, 3600, body["clears_in"], 5)

	b.env.Upstream.EnqueueFor("sk-upstream-pro-0001", fakeupstream.Reply{Status: 429,
		Body: `{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}`, Header: map[string]string{"Retry-After": "120"}})
	b.env.Upstream.EnqueueFor("sk-upstream-free-0002", fakeupstream.Reply{Status: 429,
		Body: `{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}`, Header: map[string]string{"Retry-After": "120"}})
	require.Equal(t, http.StatusTooManyRequests, chat(t, b.env, other.Key))
	_, body = q("/status", "car-pro")
	require.Equal(t, false, body["accountReady"])
	require.InDelta(t, 120, body["team_clears_in"], 3)
	_, body = q("/endpoint", "car-pro")
	require.Equal(t, "Cooling", body["message"])
	require.Equal(t, "yellow", body["color"])

	// Unknown, dedicated and missing accounts.
	status, body = q("/status", "nope")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, map[string]any{"code": float64(-1), "msg": "account not found"}, body)
	status, _ = q("/status", "car-own")
	require.Equal(t, http.StatusNotFound, status, "dedicated accounts are private")
	status, body = q("/endpoint", "nope")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Unknown", body["message"])
	require.Equal(t, "lightgrey", body["color"])
	status, body = rawJSON(t, b.env, http.MethodGet, "/status", "")
	require.Equal(t, http.StatusBadRequest, status)
	require.EqualValues(t, -1, body["code"])
	require.NotEmpty(t, body["msg"])
}

func TestStatusMonitors(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	ad := env.Admin()
	ch := env.Channel("main", []string{"gpt-4o-mini"}, "sk-upstream-aaaa1111")
	empty := env.Channel("empty", []string{"gpt-4o-mini"})

	mk := func(body adminclient.StatusMonitorCreate) adminclient.StatusMonitor {
		res, err := ad.StatusMonitorCreateWithResponse(ctx, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		require.Equal(t, "unknown", string(res.JSON201.LastStatus))
		return *res.JSON201
	}
	up := mk(adminclient.StatusMonitorCreate{Name: "OpenAI", ChannelId: ch, Model: sharePtr("gpt-4o-mini")})
	missing := mk(adminclient.StatusMonitorCreate{Name: "Missing model", ChannelId: ch, Model: sharePtr("no-such-model")})
	noAcc := mk(adminclient.StatusMonitorCreate{Name: "No account", ChannelId: empty, Public: sharePtr(false)})

	dup, err := ad.StatusMonitorCreateWithResponse(ctx, adminclient.StatusMonitorCreate{Name: "OpenAI", ChannelId: ch})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, dup.StatusCode())
	bad, err := ad.StatusMonitorCreateWithResponse(ctx, adminclient.StatusMonitorCreate{Name: "x", ChannelId: 999})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, bad.StatusCode())

	check := func(id int64) adminclient.StatusMonitor {
		res, err := ad.StatusMonitorCheckWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		return *res.JSON200
	}
	m := check(up.Id)
	require.Equal(t, "up", string(m.LastStatus))
	require.NotNil(t, wire.Ptr(m.LastCheckedAt))
	require.NotNil(t, wire.Ptr(m.LastLatencyMs))
	m = check(missing.Id)
	require.Equal(t, "down", string(m.LastStatus))
	require.Contains(t, m.LastMessage, "no-such-model")
	m = check(noAcc.Id)
	require.Equal(t, "down", string(m.LastStatus))

	// The public status page shows the public monitors only.
	res, err := env.Public().StatusPageGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode())
	require.Len(t, res.JSON200.Monitors, 2)
	require.Equal(t, "OpenAI", res.JSON200.Monitors[0].Name)
	require.Equal(t, publicclient.StatusMonitorResultStatusUp, res.JSON200.Monitors[0].Status)
	require.InDelta(t, 100, *res.JSON200.Monitors[0].Uptime24h, 0.01)
	require.InDelta(t, 0, *res.JSON200.Monitors[1].Uptime24h, 0.01)
	// Each monitor's last 24 hours by the hour, oldest first: the checks just run are in the last.
	for i, wantUp := range []int64{1, 0} {
		hist := res.JSON200.Monitors[i].History
		require.Len(t, hist, 24)
		require.Equal(t, time.Hour*23, hist[23].Start.Sub(hist[0].Start))
		require.Zero(t, hist[0].Start.Minute())
		// (the check ran in this hour, or in the one before when an hour began in between)
		require.EqualValues(t, 1, hist[22].Checks+hist[23].Checks)
		require.EqualValues(t, wantUp, hist[22].Up+hist[23].Up)
		require.Zero(t, hist[0].Checks)
	}

	// Update, list, delete.
	upd, err := ad.StatusMonitorUpdateWithResponse(ctx, missing.Id, adminclient.StatusMonitorUpdate{Model: sharePtr("gpt-4o"), IntervalSeconds: sharePtr(60)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upd.StatusCode(), string(upd.Body))
	require.Equal(t, 60, upd.JSON200.IntervalSeconds)
	require.Equal(t, "up", string(check(missing.Id).LastStatus))
	list, err := ad.StatusMonitorListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 3)
	del, err := ad.StatusMonitorDeleteWithResponse(ctx, noAcc.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	get, err := ad.StatusMonitorGetWithResponse(ctx, noAcc.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, get.StatusCode())
}

func TestStatusMonitorsRunOnSchedule(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.PoolProbeInterval = 50 * time.Millisecond }))
	other := apptest.New(t, apptest.Sharing(env), apptest.WithConfig(func(c *config.Config) { c.PoolProbeInterval = 50 * time.Millisecond }))
	ch := env.Channel("main", []string{"gpt-4o-mini"}, "sk-upstream-aaaa1111")
	res, err := env.Admin().StatusMonitorCreateWithResponse(context.Background(),
		adminclient.StatusMonitorCreate{Name: "OpenAI", ChannelId: ch, IntervalSeconds: sharePtr(10)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Eventually(t, func() bool {
		r, err := other.Public().StatusPageGetWithResponse(context.Background())
		return err == nil && len(r.JSON200.Monitors) == 1 && r.JSON200.Monitors[0].Status == publicclient.StatusMonitorResultStatusUp
	}, 10*time.Second, 50*time.Millisecond, "a scheduled check ran on one of the instances")
	// One check per interval across both instances: the advisory lock keeps them from doubling up.
	// Two more rounds on each instance: any round that was running beside the first check is over.
	seen := []int64{env.App.Accounts.Rounds(), other.App.Accounts.Rounds()}
	require.Eventually(t, func() bool {
		return env.App.Accounts.Rounds() >= seen[0]+2 && other.App.Accounts.Rounds() >= seen[1]+2
	}, 10*time.Second, 10*time.Millisecond, "both instances ran their job rounds")
	var n int
	require.NoError(t, pgxCount(t, env.DatabaseURL, &n))
	require.Equal(t, 1, n)
}

// pgxCount counts the recorded status checks.
func pgxCount(t *testing.T, dbURL string, n *int) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(context.Background(), "SELECT count(*) FROM status_checks").Scan(n)
}
