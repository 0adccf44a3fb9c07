package admin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/hookserver"
)

// TestHookDeliveries: a notification that a slow receiver never accepts goes dead after the
// retry window; the admin view shows it (kind, status, attempts, sanitized error, host, never
// the token), filters by status, retries it once the receiver is back, and then shows it
// delivered. Only dead deliveries can be retried.
func TestHookDeliveries(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	recv := apptest.NewHookReceiver(t, hookserver.Config{LoginTokens: map[string]string{}})
	env := apptest.New(t, apptest.WithoutRedis(), apptest.WithClock(now), apptest.WithConfig(func(c *config.Config) {
		c.AllowPrivateOutbound, c.HookSecret, c.HookTimeout = "127.0.0.0/8", apptest.HookSecret, 200*time.Millisecond
	}))
	ctx := context.Background()
	admin := env.Admin()
	env.Channel("main", []string{"gpt-4o-mini"}, "sk-upstream-aaaa1111")
	env.Price("gpt-4o-mini", 1_000_000, 1_000_000)
	user := env.NewUser("alice", 1_000_000)
	// The notify URL carries a secret of its own in its query: it must never be shown.
	set, err := admin.SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{NotifyUrl: ptr(recv.URL + "/notify?sig=url-secret-123")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))

	list := func(status *adminclient.HookDeliveryStatus) *adminclient.HookDeliveryPage {
		t.Helper()
		res, err := admin.HookDeliveryListWithResponse(ctx, &adminclient.HookDeliveryListParams{Status: status})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		for _, secret := range []string{user.Key, "url-secret-123", "/notify"} {
			require.NotContains(t, string(res.Body), secret)
		}
		return res.JSON200
	}
	dead, pending, delivered := adminclient.Dead, adminclient.Pending, adminclient.Delivered

	recv.Slow.Store(true) // every attempt times out
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+user.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool {
		p := list(&pending)
		return p.Total == 1 && p.Items[0].Attempts >= 1 && p.Items[0].LastError != ""
	}, 10*time.Second, 20*time.Millisecond)
	// Past the 24-hour retry window the next failure gives up (the admin's session would expire
	// on that clock: it is turned back once the row is dead).
	offset.Store(int64(25 * time.Hour))
	require.Eventually(t, func() bool {
		var n int
		err := env.App.Pool.QueryRow(ctx, "SELECT count(*) FROM hook_outbox WHERE status = 'dead'").Scan(&n)
		return err == nil && n == 1
	}, 10*time.Second, 20*time.Millisecond)
	offset.Store(0)
	p := list(&dead)
	require.EqualValues(t, 1, p.Total)
	d := p.Items[0]
	require.Equal(t, adminclient.Notify, d.Kind)
	require.Equal(t, adminclient.Dead, d.Status)
	require.Equal(t, strings.TrimPrefix(recv.URL, "http://"), d.Host)
	require.GreaterOrEqual(t, d.Attempts, int32(2))
	require.Contains(t, d.LastError, "http://"+d.Host, "URLs are reduced to their host")
	require.Nil(t, wire.Ptr(d.DeliveredAt))
	require.Zero(t, list(&pending).Total)
	require.EqualValues(t, 1, list(nil).Total)

	// Retry: refused for unknown and non-dead deliveries.
	miss, err := admin.HookDeliveryRetryWithResponse(ctx, d.Id+1000)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "hook delivery not found", miss.StatusCode(), miss.Body)
	recv.Slow.Store(false)
	res, err := admin.HookDeliveryRetryWithResponse(ctx, d.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, adminclient.Pending, res.JSON200.Status)
	require.NotContains(t, string(res.Body), user.Key)
	require.Eventually(t, func() bool { return len(recv.Ref.Received()) == 1 }, 10*time.Second, 20*time.Millisecond)
	got := recv.Ref.Received()[0]
	sum := sha256.Sum256([]byte(user.Key))
	require.Equal(t, hex.EncodeToString(sum[:]), got.Token, "the retried notification is the one queued")
	require.Eventually(t, func() bool { return list(&delivered).Total == 1 }, 10*time.Second, 20*time.Millisecond)
	done := list(&delivered).Items[0]
	require.Equal(t, d.Id, done.Id)
	require.NotNil(t, wire.Ptr(done.DeliveredAt))
	require.Empty(t, done.LastError)
	again, err := admin.HookDeliveryRetryWithResponse(ctx, d.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "delivery_not_dead", "only dead deliveries", again.StatusCode(), again.Body)
	require.Zero(t, list(&dead).Total)

	// Non-administrators are refused.
	res2, err := env.AdminAs(user.Token).HookDeliveryListWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, res2.StatusCode())
}
