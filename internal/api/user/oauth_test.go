package user_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/oauth"
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

// fakeAuthServer answers the authorization_code grant for one code, checking the PKCE verifier
// against the challenge the authorization URL carried.
type fakeAuthServer struct {
	mu        sync.Mutex
	challenge string
}

func (f *fakeAuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code") != "code-1" ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != f.challenge || r.PostForm.Get("client_id") != "poolgate-test" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	_, _ = w.Write([]byte(`{"access_token":"at-0","refresh_token":"rt-0","expires_in":3600}`))
}

func TestOAuthOnboarding(t *testing.T) {
	t.Parallel()
	c := newContribEnv(t, "at-0", "sk-unused-000000")
	env := c.env
	a := env.App
	fake := &fakeAuthServer{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	svc := &accounts.Service{DB: a.Pool, Queries: a.Queries, Box: a.Box, Settings: a.Settings, Pool: a.Accounts, Bus: a.Bus,
		Ephemeral: a.Ephemeral, Refresher: &oauth.Refresher{DB: a.Pool, Queries: a.Queries, Box: a.Box},
		OAuthProviders: map[string]accounts.OAuthProvider{"openai": {AuthorizeURL: srv.URL + "/authorize",
			TokenURL: srv.URL + "/token", ClientID: "poolgate-test", Scopes: "openid"}}}
	ctx := context.Background()
	owner, other := env.NewUser("oauth-owner", 1_000_000), env.NewUser("oauth-other", 1_000_000)

	_, err := svc.OAuthAuthorize(ctx, accounts.OAuthStart{User: owner.ID, Provider: "gemini"})
	require.Error(t, err, "a provider without a client id is not offered")

	auth, err := svc.OAuthAuthorize(ctx, accounts.OAuthStart{User: owner.ID, Provider: "openai", Nickname: "via oauth",
		Callback: env.URL + "/api/user/accounts/oauth/callback"})
	require.NoError(t, err)
	u, err := url.Parse(auth.URL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, auth.State, q.Get("state"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Equal(t, env.URL+"/api/user/accounts/oauth/callback", q.Get("redirect_uri"))
	fake.mu.Lock()
	fake.challenge = q.Get("code_challenge")
	fake.mu.Unlock()

	// Another user cannot complete it (and the state is spent).
	_, err = svc.OAuthComplete(ctx, other.ID, auth.State, "code-1")
	require.Error(t, err)
	_, err = svc.OAuthComplete(ctx, owner.ID, auth.State, "code-1")
	require.Error(t, err, "a state is used once")

	auth, err = svc.OAuthAuthorize(ctx, accounts.OAuthStart{User: owner.ID, Provider: "openai", Callback: env.URL + "/cb"})
	require.NoError(t, err)
	u, _ = url.Parse(auth.URL)
	fake.mu.Lock()
	fake.challenge = u.Query().Get("code_challenge")
	fake.mu.Unlock()
	id, err := svc.OAuthComplete(ctx, owner.ID, auth.State, "code-1")
	require.NoError(t, err)
	list, err := svc.List(ctx, owner.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)
	require.NotContains(t, list[0].CredentialTail, "rt-0")

	// The owner's calls ride it with the access token.
	status, cred := c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "at-0", cred)
}
