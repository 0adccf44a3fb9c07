package seed001_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	seed001client "github.com/poolgate/poolgate/clients/go/seed001"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testsvc"
)

const model = "gemini-3-pro-high"

// seedError is seed 001's error body: FastAPI's detail, with Poolgate's code.
type seedError struct {
	Detail   string `json:"detail"`
	Code     string `json:"code"`
	ClearsIn int64  `json:"clears_in"`
}

func requireSeedError(t *testing.T, status int, code string, gotStatus int, body []byte) {
	t.Helper()
	require.Equal(t, status, gotStatus, string(body))
	var e seedError
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, code, e.Code, string(body))
	require.NotEmpty(t, e.Detail, string(body))
}

// freshInstall is a new Poolgate configured as seed 001's .env configures it: the OAuth provider
// (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET for OAUTH_*), and an upstream for chat (seed
// 001's PLUGIN_API_BASE_URL: a channel on the fake upstream serving its model, priced, and a
// starting balance for new users).
type freshInstall struct {
	env *apptest.Env
	idp *testsvc.OIDC
}

func newFreshInstall(t *testing.T) *freshInstall {
	t.Helper()
	idp := testsvc.NewOIDC(t)
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) {
		c.AllowPrivateOutbound = "127.0.0.1"
		c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = idp.Issuer, idp.ClientID, idp.ClientSecret
	}))
	idp.Start(t, env.PublicURL+"/api/auth/sso/callback")
	ctx := context.Background()
	balance := int64(1_000_000)
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{NewUserBalance: &balance})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	env.Channel("plugin-api", []string{model}, "sk-plugin-api-upstream-key")
	env.Price(model, 1_000_000, 1_000_000)
	return &freshInstall{env: env, idp: idp}
}

// ssoSignIn runs seed 001's single sign-on as its front end does: GET /api/auth/sso/initiate,
// the user at the provider's pages in a browser, then the callback with the code and state.
func (f *freshInstall) ssoSignIn(t *testing.T, login string) *seed001client.LoginResponse {
	t.Helper()
	ctx := context.Background()
	ini, err := f.env.Seed001("").SeedSsoInitiateWithResponse(ctx, &seed001client.SeedSsoInitiateParams{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ini.StatusCode(), string(ini.Body))
	to, err := url.Parse(ini.JSON200.AuthorizationUrl)
	require.NoError(t, err)
	require.Equal(t, f.env.PublicURL+"/api/auth/sso/callback", to.Query().Get("redirect_uri"))
	require.Equal(t, ini.JSON200.State, to.Query().Get("state"))
	require.Equal(t, "S256", to.Query().Get("code_challenge_method"))

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cb := f.idp.SignIn(t, browser, ini.JSON200.AuthorizationUrl, login)
	require.Equal(t, f.env.PublicURL+"/api/auth/sso/callback", cb.Scheme+"://"+cb.Host+cb.Path)
	code, state := cb.Query().Get("code"), cb.Query().Get("state")
	res, err := f.env.Seed001("").SeedSsoCallbackWithResponse(ctx, &seed001client.SeedSsoCallbackParams{Code: &code, State: &state})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Empty(t, res.HTTPResponse.Header.Values("Set-Cookie"), "the token is in the body, no cookie")

	// The same callback again: the state is single use.
	again, err := f.env.Seed001("").SeedSsoCallbackWithResponse(ctx, &seed001client.SeedSsoCallbackParams{Code: &code, State: &state})
	require.NoError(t, err)
	requireSeedError(t, http.StatusBadRequest, "sso_state_invalid", again.StatusCode(), again.Body)
	return res.JSON200
}

// TestSeedReplay replays seed 001's own requests, as its README gives them, on a fresh install:
// SSO sign-in, me, API key creation, streamed and plain chat with the JWT, the quota, logout;
// then the password sign-in of its curl example.
func TestSeedReplay(t *testing.T) {
	t.Parallel()
	f := newFreshInstall(t)
	ctx := context.Background()
	pub := f.env.Seed001("")

	// GET /api/health
	h, err := pub.SeedHealthGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, h.StatusCode(), string(h.Body))
	require.Equal(t, seed001client.HealthStatusOk, h.JSON200.Status)
	require.Equal(t, seed001client.HealthRedisOk, h.JSON200.Redis)

	// SSO: initiate → the provider → callback.
	login := f.ssoSignIn(t, "alice")
	require.Equal(t, seed001client.Bearer, login.TokenType)
	require.Equal(t, "alice", login.User.Username)
	require.True(t, login.User.IsActive)
	require.False(t, login.User.IsSilenced)
	require.InDelta(t, 86400, login.ExpiresIn, 60)
	c := f.env.Seed001(login.AccessToken)

	// A state-only sign-in cannot be finished at Poolgate's browser-bound /auth/callback, nor a
	// browser-bound one at /api/auth/sso/callback.
	ini, err := pub.SeedSsoInitiateWithResponse(ctx, &seed001client.SeedSsoInitiateParams{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ini.StatusCode(), string(ini.Body))
	res, body := rawGet(t, f.env, f.env.URL+"/auth/callback?code=x&state="+url.QueryEscape(ini.JSON200.State))
	require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
	require.Contains(t, body, "sso_state_invalid")
	res, body = rawGet(t, f.env, f.env.URL+"/auth/login")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	bound, x := loc.Query().Get("state"), "x"
	cbr, err := pub.SeedSsoCallbackWithResponse(ctx, &seed001client.SeedSsoCallbackParams{Code: &x, State: &bound})
	require.NoError(t, err)
	requireSeedError(t, http.StatusBadRequest, "sso_state_invalid", cbr.StatusCode(), cbr.Body)

	// GET /api/auth/me with Authorization: Bearer YOUR_JWT_TOKEN
	me, err := c.SeedMeGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
	require.Equal(t, login.User.Id, me.JSON200.Id)

	// POST /api/api-keys {"name": "我的API密钥", "description": "用于测试的密钥"}
	desc := "用于测试的密钥"
	k, err := c.SeedApiKeyCreateWithResponse(ctx, seed001client.SeedApiKeyCreateJSONRequestBody{Name: "我的API密钥", Description: &desc})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, k.StatusCode(), string(k.Body))
	require.True(t, strings.HasPrefix(k.JSON200.Key, "sk-"), k.JSON200.Key)
	require.Equal(t, me.JSON200.Id, k.JSON200.UserId)
	require.True(t, k.JSON200.IsActive)
	list, err := c.SeedApiKeyListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Len(t, *list.JSON200, 1)
	require.Equal(t, "我的API密钥", (*list.JSON200)[0].Name)
	require.Equal(t, desc, *(*list.JSON200)[0].Description)
	require.NotContains(t, string(list.Body), k.JSON200.Key, "the secret is shown once")
	// The same key is one of the user contract's.
	uk, err := f.env.User(login.AccessToken).ApiKeyListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, uk.StatusCode(), string(uk.Body))
	require.Len(t, uk.JSON200.Items, 1)
	require.Equal(t, k.JSON200.Id, uk.JSON200.Items[0].Id)

	// GET /api/plugin-api/models, with the JWT and with the new key.
	for _, tok := range []string{login.AccessToken, k.JSON200.Key} {
		m, err := f.env.Seed001(tok).SeedModelListWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, m.StatusCode(), string(m.Body))
		require.Len(t, m.JSON200.Data, 1)
		require.Equal(t, model, m.JSON200.Data[0].Id)
	}

	// POST /api/plugin-api/chat/completions, stream true then false, as in the seed's curl.
	streamed := chatStream(t, f.env, login.AccessToken, `{
  "model": "gemini-3-pro-high",
  "messages": [
    {"role": "user", "content": "你好,请介绍一下你自己"}
  ],
  "stream": true
}`)
	require.NotEmpty(t, streamed)
	plain, err := c.SeedChatCompletionCreateWithBodyWithResponse(ctx, "application/json", strings.NewReader(`{
  "model": "gemini-3-pro-high",
  "messages": [
    {"role": "user", "content": "你好,请介绍一下你自己"}
  ],
  "stream": false
}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, plain.StatusCode(), string(plain.Body))
	require.NotEmpty(t, plain.JSON200.Choices)
	f.env.FlushUsage()
	require.Less(t, f.env.Balance(login.User.Id), int64(1_000_000), "the calls are metered to the user")

	// GET /api/plugin-api/quotas/user, /api/plugin-api/accounts: no contributed accounts yet.
	q, err := c.SeedQuotaListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, q.StatusCode(), string(q.Body))
	require.True(t, q.JSON200.Success)
	acc, err := c.SeedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
	require.Empty(t, acc.JSON200.Data)

	// POST /api/plugin-api/oauth/authorize {"is_shared": 0}: no OAuth client is registered for
	// Google accounts on a fresh install.
	zero := seed001client.OAuthAuthorizeRequestIsSharedN0
	oa, err := c.SeedOauthAuthorizeWithResponse(ctx, seed001client.OAuthAuthorizeRequest{IsShared: &zero})
	require.NoError(t, err)
	requireSeedError(t, http.StatusUnprocessableEntity, "provider_not_offered", oa.StatusCode(), oa.Body)

	// DELETE /api/api-keys/{key_id}: the key stops working.
	del, err := c.SeedApiKeyDeleteWithResponse(ctx, k.JSON200.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, del.StatusCode(), string(del.Body))
	gone, err := f.env.Seed001(k.JSON200.Key).SeedModelListWithResponse(ctx)
	require.NoError(t, err)
	requireSeedError(t, http.StatusUnauthorized, "unauthorized", gone.StatusCode(), gone.Body)
	del, err = c.SeedApiKeyDeleteWithResponse(ctx, k.JSON200.Id)
	require.NoError(t, err)
	requireSeedError(t, http.StatusNotFound, "not_found", del.StatusCode(), del.Body)

	// POST /api/auth/logout: the JWT stops working.
	out, err := c.SeedSessionDeleteWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, out.StatusCode(), string(out.Body))
	require.True(t, out.JSON200.Success)
	me, err = c.SeedMeGetWithResponse(ctx)
	require.NoError(t, err)
	requireSeedError(t, http.StatusUnauthorized, "unauthorized", me.StatusCode(), me.Body)

	// POST /api/auth/login {"username", "password"} (the administrator of the fresh install).
	pw, err := pub.SeedSessionCreateWithResponse(ctx, seed001client.LoginRequest{Username: apptest.AdminUsername, Password: apptest.AdminPassword})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pw.StatusCode(), string(pw.Body))
	require.Equal(t, apptest.AdminUsername, pw.JSON200.User.Username)
	// A Poolgate session like any other: the user contract takes it.
	um, err := f.env.User(pw.JSON200.AccessToken).MeGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, um.StatusCode(), string(um.Body))
	bad, err := pub.SeedSessionCreateWithResponse(ctx, seed001client.LoginRequest{Username: apptest.AdminUsername, Password: "wrong-password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode(), string(bad.Body))
}

// rawGet fetches a URL without following redirects (the answer is still checked against the
// contracts).
func rawGet(t *testing.T, env *apptest.Env, u string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Transport: env.RawHTTP.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res, string(b)
}

// chatStream posts a streamed chat completion and returns the content of its events.
func chatStream(t *testing.T, env *apptest.Env, token, body string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, env.URL+"/api/plugin-api/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := env.HTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("stream answered %d: %s", res.StatusCode, b)
	}
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream"), res.Header.Get("Content-Type"))
	var content strings.Builder
	done := false
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(data), &chunk), data)
		for _, c := range chunk.Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	require.NoError(t, sc.Err())
	require.True(t, done, "the stream ends with [DONE]")
	return content.String()
}

// TestSeedContributedAccounts: a user's contributed accounts and shared quota read through seed
// 001's paths, in its shapes, agree with the user contract's.
func TestSeedContributedAccounts(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) {
		c.OAuthAccountProviders = `{"openai":{"client_id":"poolgate-test","authorize_url":"https://auth.example.test/oauth/authorize"}}`
	}))
	ctx := context.Background()
	ch := env.Channel("contributed", []string{"gpt-4o-mini"})
	env.Price("gpt-4o-mini", 150, 600)
	base, hours, unit := int64(1), float64(5), adminclient.SettingsUpdateSharedQuotaUnitCalls
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{SharedQuotaBase: &base,
		SharedQuotaRecoveryHours: &hours, SharedQuotaUnit: &unit,
		ContributedAccountChannels: &adminclient.ContributedAccountChannels{"openai": ch}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	u := env.NewUser("carol", 0)
	nick, shared := "mine", true
	made, err := env.User(u.Token).ContributedAccountCreateWithResponse(ctx, userclient.ContributedAccountCreate{
		Provider: "openai", Credential: "sk-carol-contributed-0123456789", Nickname: &nick, Shared: &shared})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, made.StatusCode(), string(made.Body))

	c := env.Seed001(u.Token)
	acc, err := c.SeedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
	require.True(t, acc.JSON200.Success)
	require.Len(t, acc.JSON200.Data, 1)
	a := acc.JSON200.Data[0]
	require.Equal(t, strconv.FormatInt(made.JSON201.Id, 10), a.CookieId)
	require.Equal(t, "mine", a.Name)
	require.Equal(t, seed001client.AccountIsSharedN1, a.IsShared)
	require.Equal(t, seed001client.AccountStatusN1, a.Status)
	require.Equal(t, seed001client.AccountStateActive, a.State)
	require.NotContains(t, string(acc.Body), "sk-carol-contributed", "the credential never comes back")

	q, err := c.SeedQuotaListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, q.StatusCode(), string(q.Body))
	own, err := env.User(u.Token).QuotaUserListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, own.StatusCode(), string(own.Body))
	require.Len(t, q.JSON200.Data, len(own.JSON200.Items))
	require.NotEmpty(t, q.JSON200.Data)
	for i, it := range q.JSON200.Data {
		want := own.JSON200.Items[i]
		require.Equal(t, want.Family, it.ModelName)
		require.Equal(t, strconv.FormatInt(want.Cap, 10), it.MaxQuota)
		require.Equal(t, strconv.FormatInt(want.Remaining, 10), it.Quota)
		require.Equal(t, strconv.FormatInt(u.ID, 10), it.UserId)
		require.Equal(t, it.UserId+":"+it.ModelName, it.PoolId)
	}

	// POST /api/plugin-api/oauth/authorize {"is_shared": 1, "provider": "openai"}: the provider's
	// authorization URL (PKCE) coming back to the user contract's callback.
	one, provider := seed001client.OAuthAuthorizeRequestIsSharedN1, "openai"
	oa, err := c.SeedOauthAuthorizeWithResponse(ctx, seed001client.OAuthAuthorizeRequest{IsShared: &one, Provider: &provider})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, oa.StatusCode(), string(oa.Body))
	require.True(t, oa.JSON200.Success)
	require.Equal(t, 600, oa.JSON200.Data.ExpiresIn)
	au, err := url.Parse(oa.JSON200.Data.AuthUrl)
	require.NoError(t, err)
	require.Equal(t, "auth.example.test", au.Host)
	require.Equal(t, "poolgate-test", au.Query().Get("client_id"))
	require.Equal(t, "S256", au.Query().Get("code_challenge_method"))
	require.Equal(t, oa.JSON200.Data.State, au.Query().Get("state"))
	require.Equal(t, env.PublicURL+"/api/user/accounts/oauth/callback", au.Query().Get("redirect_uri"))

	// Another user sees none of carol's accounts, rides her shared one within his shared quota
	// (one call), and is then refused in seed 001's shape with clears_in.
	other := env.NewUser("dave", 1_000_000)
	acc, err = env.Seed001(other.Token).SeedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, acc.StatusCode(), string(acc.Body))
	require.Empty(t, acc.JSON200.Data)
	chat := func() *seed001client.SeedChatCompletionCreateResponse {
		r, err := env.Seed001(other.Token).SeedChatCompletionCreateWithBodyWithResponse(ctx, "application/json",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}`))
		require.NoError(t, err)
		return r
	}
	first := chat()
	require.Equal(t, http.StatusOK, first.StatusCode(), string(first.Body))
	second := chat()
	requireSeedError(t, http.StatusTooManyRequests, "shared_quota_exhausted", second.StatusCode(), second.Body)
	var e seedError
	require.NoError(t, json.Unmarshal(second.Body, &e))
	require.Positive(t, e.ClearsIn, string(second.Body))
	require.NotEmpty(t, second.HTTPResponse.Header.Get("Retry-After"))
}

// TestSeedErrors: bad input and missing credentials answer in seed 001's error shape.
func TestSeedErrors(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	ctx := context.Background()
	for _, call := range []func() (int, []byte, error){
		func() (int, []byte, error) {
			r, err := env.Seed001("").SeedMeGetWithResponse(ctx)
			return r.StatusCode(), r.Body, err
		},
		func() (int, []byte, error) {
			r, err := env.Seed001("").SeedApiKeyListWithResponse(ctx)
			return r.StatusCode(), r.Body, err
		},
		func() (int, []byte, error) {
			r, err := env.Seed001("").SeedModelListWithResponse(ctx)
			return r.StatusCode(), r.Body, err
		},
		func() (int, []byte, error) {
			r, err := env.Seed001("not-a-token").SeedQuotaListWithResponse(ctx)
			return r.StatusCode(), r.Body, err
		},
	} {
		status, body, err := call()
		require.NoError(t, err)
		requireSeedError(t, http.StatusUnauthorized, "unauthorized", status, body)
	}
	raw := &http.Client{Transport: env.RawHTTP.Transport}
	for _, body := range []string{`{"username": "admin"}`, `{"username": "admin", "password": "x", "extra": 1}`, `not json`} {
		res, err := raw.Post(env.URL+"/api/auth/login", "application/json", strings.NewReader(body)) //nolint:noctx // test
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(t, http.StatusBadRequest, res.StatusCode, string(b))
		var e seedError
		require.NoError(t, json.Unmarshal(b, &e), string(b))
		require.NotEmpty(t, e.Detail)
		require.Contains(t, []string{"invalid_request", "invalid_json"}, e.Code)
	}
	// An SSO callback with a state the server never issued, and a provider that does not exist.
	st, code := "never-issued-state", "x"
	cb, err := env.Seed001("").SeedSsoCallbackWithResponse(ctx, &seed001client.SeedSsoCallbackParams{State: &st, Code: &code})
	require.NoError(t, err)
	requireSeedError(t, http.StatusBadRequest, "sso_state_invalid", cb.StatusCode(), cb.Body)
	nope := "nope"
	ini, err := env.Seed001("").SeedSsoInitiateWithResponse(ctx, &seed001client.SeedSsoInitiateParams{Provider: &nope})
	require.NoError(t, err)
	requireSeedError(t, http.StatusNotFound, "not_found", ini.StatusCode(), ini.Body)
}
