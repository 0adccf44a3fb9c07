package user_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// fakeTokenEndpoint is an OAuth token endpoint: refresh_token grants for the current refresh
// token answer the next access token; refusing makes it answer invalid_grant.
type fakeTokenEndpoint struct {
	mu        sync.Mutex
	refresh   string // the refresh token it accepts
	next      int
	refusing  bool
	refreshes atomic.Int64
}

func (f *fakeTokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("grant_type") != "refresh_token" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"unsupported_grant_type"}`))
		return
	}
	f.refreshes.Add(1)
	if f.refusing || r.PostForm.Get("refresh_token") != f.refresh || r.PostForm.Get("client_id") != "poolgate-test" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	f.next++
	f.refresh = "rt-" + string(rune('0'+f.next))
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + string(rune('0'+f.next)),
		"refresh_token": f.refresh, "expires_in": 3600, "token_type": "Bearer"})
}

// fakeClock is a clock the test moves.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestOAuthRefreshOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	private := apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.0/8" })
	one := apptest.New(t, private, apptest.WithClock(clock.Now))
	two := apptest.New(t, private, apptest.WithClock(clock.Now), apptest.Sharing(one))
	one.Price("gpt-4o-mini", 150, 600)
	up := fakeupstream.New(fakeupstream.WithKeys("at-0", "at-1", "at-2"))
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	tokens := &fakeTokenEndpoint{refresh: "rt-0"}
	tokenSrv := httptest.NewServer(tokens)
	t.Cleanup(tokenSrv.Close)
	ctx := context.Background()

	ch, err := one.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "oauth", Type: adminclient.Openai,
		BaseUrl: upSrv.URL + "/v1", Models: []string{"gpt-4o-mini"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
	cred, err := json.Marshal(map[string]any{"type": "oauth", "access_token": "at-0", "refresh_token": "rt-0",
		"expires_at": clock.Now().Add(time.Hour).UTC(), "token_url": tokenSrv.URL + "/token", "client_id": "poolgate-test"})
	require.NoError(t, err)
	acc, err := one.Admin().AccountCreateWithResponse(ctx, ch.JSON201.Id, adminclient.AccountCreate{Credential: string(cred)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, acc.StatusCode(), string(acc.Body))
	require.NotContains(t, string(acc.Body), "rt-0")
	user := one.NewUser("oauth-rider", 100_000_000)

	chat := func(env *apptest.Env) (int, string) {
		before := len(up.Requests())
		res, err := gateway(t, env, user.Key).ChatCompletionCreateWithBodyWithResponse(ctx, "application/json",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		require.NoError(t, err)
		if reqs := up.Requests(); len(reqs) > before && res.StatusCode() == http.StatusOK {
			return res.StatusCode(), "ok"
		}
		return res.StatusCode(), string(res.Body)
	}

	// A token far from expiry is used as it is: no refresh.
	status, _ := chat(one)
	require.Equal(t, http.StatusOK, status)
	require.Zero(t, tokens.refreshes.Load())

	// The token is about to expire: 50 concurrent calls over two instances refresh it once.
	clock.Advance(59 * time.Minute)
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() {
			env := one
			if i%2 == 1 {
				env = two
			}
			codes[i], _ = chat(env)
		})
	}
	wg.Wait()
	for i, c := range codes {
		require.Equal(t, http.StatusOK, c, "call %d", i)
	}
	require.Equal(t, int64(1), tokens.refreshes.Load(), "exactly one refresh at the token endpoint")
	for _, r := range up.Requests()[1:] {
		require.Equal(t, "at-1", r.Credential, "every call after expiry used the refreshed token")
	}

	// A refused refresh marks the account needs_reauth, shown to the administrator.
	tokens.mu.Lock()
	tokens.refusing = true
	tokens.mu.Unlock()
	clock.Advance(2 * time.Hour)
	status, _ = chat(two)
	require.NotEqual(t, http.StatusOK, status)
	require.Equal(t, int64(2), tokens.refreshes.Load())
	list, err := one.Admin().AccountListWithResponse(ctx, ch.JSON201.Id)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, adminclient.AccountStatusNeedsReauth, list.JSON200.Items[0].Status)
	require.Equal(t, "refresh_refused", list.JSON200.Items[0].StatusReason)
}
