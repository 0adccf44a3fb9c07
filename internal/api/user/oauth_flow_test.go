package user_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	commonclient "github.com/poolgate/poolgate/clients/go/common"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/hookserver"
)

// consent opens the authorization URL as the user's browser would and returns where the provider
// redirects it (the callback with code and state).
func consent(t *testing.T, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL) //nolint:noctx // a test's browser
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

func acceptJSON(_ context.Context, r *http.Request) error {
	r.Header.Set("Accept", "application/json")
	return nil
}

func acceptHTML(_ context.Context, r *http.Request) error {
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	return nil
}

// browserUser is a user client that does not follow redirects (to read where the callback sends).
func browserUser(t *testing.T, env *apptest.Env, token string) *userclient.ClientWithResponses {
	t.Helper()
	hc := &http.Client{Transport: env.HTTP.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c, err := userclient.NewClientWithResponses(env.URL, userclient.WithHTTPClient(hc),
		userclient.WithRequestEditorFn(apptest.Bearer(token)), userclient.WithRequestEditorFn(acceptHTML))
	require.NoError(t, err)
	return c
}

func callbackParams(loc *url.URL) *userclient.ContributedAccountOAuthCallbackParams {
	q := loc.Query()
	return &userclient.ContributedAccountOAuthCallbackParams{Code: ptrTo(q.Get("code")), State: ptrTo(q.Get("state"))}
}

func TestOAuthOnboardingOverHTTP(t *testing.T) {
	t.Parallel()
	prov := apptest.NewOAuthProvider(t)
	c := newContribEnvWith(t, []apptest.Option{apptest.WithConfig(func(cfg *config.Config) {
		cfg.AllowPrivateOutbound = "127.0.0.0/8"
		cfg.OAuthAccountProviders = prov.Providers("")
	})}, "at-1", "at-2", "at-3", "at-4", "at-5", "at-6", "at-7", "at-8")
	env, ctx := c.env, context.Background()
	owner, other := env.NewUser("oauth-owner", 1_000_000), env.NewUser("oauth-other", 1_000_000)
	ou := env.User(owner.Token)

	// A provider without an OAuth client configured is not offered.
	res, err := ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "gemini"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "provider_not_offered", "gemini", res.StatusCode(), res.Body)

	// Authorize: the provider's URL with PKCE S256, redirecting to Poolgate's callback.
	res, err = ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai",
		Nickname: ptrTo("signed in"), Shared: ptrTo(true)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	az := res.JSON200
	require.False(t, az.PasteCode)
	require.EqualValues(t, 600, az.ExpiresIn)
	require.Equal(t, env.PublicURL+"/api/user/accounts/oauth/callback", az.RedirectUri)
	u, err := url.Parse(az.Url)
	require.NoError(t, err)
	require.Equal(t, "S256", u.Query().Get("code_challenge_method"))
	require.Equal(t, az.State, u.Query().Get("state"))

	// The browser consents; the provider redirects to the callback; a program asking for JSON
	// gets the account.
	loc := consent(t, az.Url)
	require.Equal(t, "/api/user/accounts/oauth/callback", loc.Path)
	cb, err := ou.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc), acceptJSON)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, cb.StatusCode(), string(cb.Body))
	require.Equal(t, commonclient.OAuthAccountAdded{AccountId: cb.JSON201.AccountId, Provider: "openai", Shared: true}, *cb.JSON201)
	require.NotContains(t, string(cb.Body), "rt-")

	// The state is spent: the same redirect again is refused.
	cb, err = ou.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc), acceptJSON)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "start again", cb.StatusCode(), cb.Body)

	// The account is the owner's, shared, active, without its tokens; others ride it.
	list, err := ou.ContributedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	acc := list.JSON200.Items[0]
	require.Equal(t, "signed in", acc.Nickname)
	require.True(t, acc.Shared)
	require.Equal(t, userclient.AccountStateActive, acc.State)
	require.NotContains(t, string(list.Body), "rt-")
	status, cred := c.chat(t, other.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "at-1", cred)

	// A browser lands on the console with the result.
	browser := browserUser(t, env, owner.Token)
	res, err = ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	loc = consent(t, res.JSON200.Url)
	cb, err = browser.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc))
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, cb.StatusCode(), string(cb.Body))
	landing, err := url.Parse(cb.HTTPResponse.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/app/accounts", landing.Path)
	require.Equal(t, "added", landing.Query().Get("oauth"))
	require.NotEmpty(t, landing.Query().Get("account_id"))
	// ... and with the refusal's code when it fails.
	cb, err = browser.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc))
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, cb.StatusCode(), string(cb.Body))
	require.Equal(t, "/app/accounts?code=invalid_state&oauth=failed", cb.HTTPResponse.Header.Get("Location"))

	// Someone else cannot complete an authorization (and it is spent by the try).
	res, err = ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	loc = consent(t, res.JSON200.Url)
	cb, err = env.User(other.Token).ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc), acceptJSON)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "", cb.StatusCode(), cb.Body)
	cb, err = ou.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc), acceptJSON)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "", cb.StatusCode(), cb.Body)

	// The user refused at the provider.
	res, err = ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	cb, err = ou.ContributedAccountOAuthCallbackWithResponse(ctx, &userclient.ContributedAccountOAuthCallbackParams{
		State: &res.JSON200.State, Error: ptrTo("access_denied"), ErrorDescription: ptrTo("The user said no")}, acceptJSON)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "authorization_refused", "access_denied", cb.StatusCode(), cb.Body)

	// A code the provider does not know.
	res, err = ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	cb, err = ou.ContributedAccountOAuthCallbackWithResponse(ctx, &userclient.ContributedAccountOAuthCallbackParams{
		State: &res.JSON200.State, Code: ptrTo("forged")}, acceptJSON)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "authorization_refused", "invalid_grant", cb.StatusCode(), cb.Body)

	list, err = ou.ContributedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 2, "only the two completed onboardings added accounts")
}

func TestOAuthPastedCode(t *testing.T) {
	t.Parallel()
	prov := apptest.NewOAuthProvider(t)
	page := prov.CodePage() // the provider's page that shows code#state
	c := newContribEnvWith(t, []apptest.Option{apptest.WithConfig(func(cfg *config.Config) {
		cfg.AllowPrivateOutbound = "127.0.0.0/8"
		cfg.OAuthAccountProviders = prov.Providers(page)
	})}, "at-1", "at-2", "at-3")
	env, ctx := c.env, context.Background()
	owner := env.NewUser("paster", 1_000_000)
	ou := env.User(owner.Token)

	res, err := ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.True(t, res.JSON200.PasteCode)
	require.Equal(t, page, res.JSON200.RedirectUri)
	loc := consent(t, res.JSON200.Url)
	require.Equal(t, "/code/callback", loc.Path)
	pasted := loc.Query().Get("code") + "#" + loc.Query().Get("state")

	// A pasted code#state whose state disagrees with the one given is refused (nothing spent).
	ex, err := ou.ContributedAccountOAuthExchangeWithResponse(ctx, commonclient.OAuthCodeExchange{Code: pasted, State: ptrTo("another")})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "", ex.StatusCode(), ex.Body)

	// code#state as Anthropic shows it.
	ex, err = ou.ContributedAccountOAuthExchangeWithResponse(ctx, commonclient.OAuthCodeExchange{Code: pasted})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ex.StatusCode(), string(ex.Body))
	require.False(t, ex.JSON201.Shared)
	status, cred := c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "at-1", cred)

	// A bare code with its state given apart.
	res, err = ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	loc = consent(t, res.JSON200.Url)
	ex, err = ou.ContributedAccountOAuthExchangeWithResponse(ctx, commonclient.OAuthCodeExchange{Code: loc.Query().Get("code"),
		State: ptrTo(res.JSON200.State)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ex.StatusCode(), string(ex.Body))

	// A code without its state.
	ex, err = ou.ContributedAccountOAuthExchangeWithResponse(ctx, commonclient.OAuthCodeExchange{Code: "code-9"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "", ex.StatusCode(), ex.Body)

	// An administrator's onboarding into a channel of their choice: pasted to the admin route,
	// for that channel only.
	admin := env.Admin()
	az, err := admin.AccountOAuthAuthorizeWithResponse(ctx, c.channel, adminclient.AccountOAuthAuthorize{Nickname: ptrTo("team")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, az.StatusCode(), string(az.Body))
	loc = consent(t, az.JSON200.Url)
	pasted = loc.Query().Get("code") + "#" + loc.Query().Get("state")
	ax, err := admin.AccountOAuthExchangeWithResponse(ctx, c.channel+1000, commonclient.OAuthCodeExchange{Code: pasted})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "", ax.StatusCode(), ax.Body)
	az, err = admin.AccountOAuthAuthorizeWithResponse(ctx, c.channel, adminclient.AccountOAuthAuthorize{Nickname: ptrTo("team")})
	require.NoError(t, err)
	loc = consent(t, az.JSON200.Url)
	// A user route does not complete an administrator's onboarding.
	ex, err = env.User(env.AdminToken).ContributedAccountOAuthExchangeWithResponse(ctx, commonclient.OAuthCodeExchange{
		Code: loc.Query().Get("code") + "#" + loc.Query().Get("state")})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "", ex.StatusCode(), ex.Body)
	az, err = admin.AccountOAuthAuthorizeWithResponse(ctx, c.channel, adminclient.AccountOAuthAuthorize{Nickname: ptrTo("team")})
	require.NoError(t, err)
	loc = consent(t, az.JSON200.Url)
	ax, err = admin.AccountOAuthExchangeWithResponse(ctx, c.channel, commonclient.OAuthCodeExchange{
		Code: loc.Query().Get("code") + "#" + loc.Query().Get("state")})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ax.StatusCode(), string(ax.Body))
	accs, err := admin.AccountListWithResponse(ctx, c.channel)
	require.NoError(t, err)
	var found bool
	for _, a := range accs.JSON200.Items {
		if a.Id == ax.JSON201.AccountId {
			found = true
			require.Equal(t, "team", a.Nickname)
			require.Nil(t, wire.Ptr(a.OwnerUserId))
		}
	}
	require.True(t, found, "the administrator's account is in the channel")
	require.NotContains(t, string(accs.Body), "rt-")

	// An unknown channel.
	az, err = admin.AccountOAuthAuthorizeWithResponse(ctx, c.channel+1000, adminclient.AccountOAuthAuthorize{})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, az.StatusCode(), string(az.Body))
}

func TestOAuthAdminCallbackLandsOnChannels(t *testing.T) {
	t.Parallel()
	prov := apptest.NewOAuthProvider(t)
	c := newContribEnvWith(t, []apptest.Option{apptest.WithConfig(func(cfg *config.Config) {
		cfg.AllowPrivateOutbound = "127.0.0.0/8"
		cfg.OAuthAccountProviders = prov.Providers("")
	})}, "at-1")
	env, ctx := c.env, context.Background()
	az, err := env.Admin().AccountOAuthAuthorizeWithResponse(ctx, c.channel, adminclient.AccountOAuthAuthorize{
		Provider: ptrTo(adminclient.Openai)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, az.StatusCode(), string(az.Body))
	require.Equal(t, env.PublicURL+"/api/user/accounts/oauth/callback", az.JSON200.RedirectUri)
	loc := consent(t, az.JSON200.Url)
	cb, err := browserUser(t, env, env.AdminToken).ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc))
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, cb.StatusCode(), string(cb.Body))
	landing, err := url.Parse(cb.HTTPResponse.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/admin/channels", landing.Path)
	require.Equal(t, fmt.Sprint(c.channel), landing.Query().Get("channel_id"))
	require.Equal(t, "added", landing.Query().Get("oauth"))

	// A failed onboarding into a channel lands on the channel's page too, with the refusal's code.
	az, err = env.Admin().AccountOAuthAuthorizeWithResponse(ctx, c.channel, adminclient.AccountOAuthAuthorize{
		Provider: ptrTo(adminclient.Openai)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, az.StatusCode(), string(az.Body))
	cb, err = browserUser(t, env, env.AdminToken).ContributedAccountOAuthCallbackWithResponse(ctx,
		&userclient.ContributedAccountOAuthCallbackParams{State: &az.JSON200.State, Error: ptrTo("access_denied")})
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, cb.StatusCode(), string(cb.Body))
	require.Equal(t, fmt.Sprintf("/admin/channels?channel_id=%d&code=authorization_refused&oauth=failed", c.channel),
		cb.HTTPResponse.Header.Get("Location"))
}

func TestOAuthStateExpires(t *testing.T) {
	t.Parallel()
	prov := apptest.NewOAuthProvider(t)
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	c := newContribEnvWith(t, []apptest.Option{apptest.WithoutRedis(), apptest.WithClock(clock.Now),
		apptest.WithConfig(func(cfg *config.Config) {
			cfg.AllowPrivateOutbound = "127.0.0.0/8"
			cfg.OAuthAccountProviders = prov.Providers("")
		})}, "at-1")
	env, ctx := c.env, context.Background()
	owner := env.NewUser("slow", 1_000_000)
	ou := env.User(owner.Token)
	res, err := ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	loc := consent(t, res.JSON200.Url)
	clock.Advance(11 * time.Minute)
	cb, err := ou.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(loc), acceptJSON)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_state", "expired", cb.StatusCode(), cb.Body)
}

// TestOAuthAccountRefreshAndReauth onboards an account over HTTP, then: its token about to
// expire, 50 concurrent calls over two instances refresh it exactly once; a refused refresh marks
// it needs_reauth in its owner's list and tells the account event hook.
func TestOAuthAccountRefreshAndReauth(t *testing.T) {
	t.Parallel()
	prov := apptest.NewOAuthProvider(t)
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	recv := apptest.NewHookReceiver(t, hookserver.Config{Now: clock.Now})
	opts := []apptest.Option{apptest.WithClock(clock.Now), apptest.HookConfig(5*time.Second, false),
		apptest.WithConfig(func(cfg *config.Config) {
			cfg.OAuthAccountProviders = prov.Providers("")
			cfg.AccountEventURL = recv.URL + "/account_event"
		})}
	c := newContribEnvWith(t, opts, "at-1", "at-2")
	one, ctx := c.env, context.Background()
	one.SharedQuota(1_000_000) // the rider's 50+ calls stay within their share of the pool
	two := apptest.New(t, append(opts, apptest.Sharing(one))...)
	owner, rider := one.NewUser("refresh-owner", 1_000_000), one.NewUser("refresh-rider", 100_000_000)
	ou := one.User(owner.Token)

	res, err := ou.ContributedAccountOAuthAuthorizeWithResponse(ctx, userclient.OAuthAuthorizeRequest{Provider: "openai",
		Nickname: ptrTo("expiring"), Shared: ptrTo(true)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	cb, err := ou.ContributedAccountOAuthCallbackWithResponse(ctx, callbackParams(consent(t, res.JSON200.Url)), acceptJSON)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, cb.StatusCode(), string(cb.Body))
	id := cb.JSON201.AccountId

	chat := func(env *apptest.Env) int {
		r, err := gateway(t, env, rider.Key).ChatCompletionCreateWithBodyWithResponse(ctx, "application/json",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		require.NoError(t, err)
		return r.StatusCode()
	}
	require.Equal(t, http.StatusOK, chat(one))
	require.Zero(t, prov.Refreshes(), "a fresh token is used as it is")

	clock.Advance(59 * time.Minute)
	before := len(c.upstream.Requests())
	codes := make([]int, 50)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			env := one
			if i%2 == 1 {
				env = two
			}
			codes[i] = chat(env)
		})
	}
	wg.Wait()
	for i, code := range codes {
		require.Equal(t, http.StatusOK, code, "call %d", i)
	}
	require.Equal(t, int64(1), prov.Refreshes(), "exactly one refresh at the token endpoint")
	for _, r := range c.upstream.Requests()[before:] {
		require.Equal(t, "at-2", r.Credential, "every call after expiry used the refreshed token")
	}

	// The provider revokes the refresh token: the next refresh is refused.
	prov.Refuse()
	clock.Advance(2 * time.Hour)
	require.NotEqual(t, http.StatusOK, chat(two))
	list, err := ou.ContributedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, userclient.AccountStateNeedsReauth, list.JSON200.Items[0].State)
	require.Equal(t, "refresh_refused", list.JSON200.Items[0].StateReason)

	// The owner is told through the account event hook, signed like the other hooks.
	var ev *hookserver.Received
	require.Eventually(t, func() bool {
		for _, r := range recv.Ref.Received() {
			if r.Kind == "account_event" {
				ev = &r
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "the account event reaches the hook")
	e := ev.AccountEvent
	require.Equal(t, "account.needs_reauth", string(e.Event))
	require.Equal(t, id, e.Account.Id)
	require.Equal(t, c.channel, e.Account.ChannelId)
	require.Equal(t, "openai", e.Account.Provider)
	require.Equal(t, "expiring", e.Account.Nickname)
	require.True(t, e.Account.Shared)
	require.Equal(t, "needs_reauth", string(e.Account.State))
	require.Equal(t, "refresh_refused", e.Account.StateReason)
	require.NotNil(t, e.Owner)
	require.Equal(t, owner.ID, e.Owner.UserId)
	require.Equal(t, "refresh-owner", e.Owner.Username)
	raw, err := json.Marshal(e)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "rt-")
	require.NotContains(t, string(raw), "at-2")
}
