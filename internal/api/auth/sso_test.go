package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	commonclient "github.com/poolgate/poolgate/clients/go/common"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// browser is a cookie-keeping client that does not follow redirects, as the tests follow them
// step by step. Poolgate's answers are still checked against the contracts.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T, env *apptest.Env) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, c: &http.Client{Transport: env.RawHTTP.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a URL (with an Accept header when given) and returns the answer with its body read.
func (b *browser) get(u, accept string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	require.NoError(b.t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res, string(body)
}

// ssoEnv is an app with a local OpenID provider registered as the provider "local".
type ssoEnv struct {
	*testBundle
	idp *testsvc.OIDC
}

func setupSSO(t *testing.T, opts ...apptest.Option) *ssoEnv {
	t.Helper()
	idp := testsvc.NewOIDC(t)
	b := setup(t, append(opts, apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.1" }))...)
	return &ssoEnv{testBundle: b, idp: idp}
}

func (s *ssoEnv) start(t *testing.T) {
	t.Helper()
	s.idp.Start(t, s.env.PublicURL+"/auth/callback")
}

func (s *ssoEnv) provider(t *testing.T, p adminclient.OIDCProviderCreate) adminclient.OIDCProvider {
	t.Helper()
	if p.ClientId == "" {
		p.ClientId = s.idp.ClientID
	}
	if p.ClientSecret == nil {
		p.ClientSecret = &s.idp.ClientSecret
	}
	res, err := s.env.Admin().OidcProviderCreateWithResponse(s.ctx, p)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return *res.JSON201
}

func (s *ssoEnv) localProvider(t *testing.T) {
	t.Helper()
	kind := adminclient.Oidc
	iss := s.idp.Issuer
	s.provider(t, adminclient.OIDCProviderCreate{Slug: "local", Name: "Local", Kind: &kind, Issuer: &iss})
}

// signIn goes from /auth/login through the provider's pages as login and returns Poolgate's
// answer to the callback.
func (s *ssoEnv) signIn(t *testing.T, br *browser, loginURL, login string) (*http.Response, string) {
	t.Helper()
	res, body := br.get(loginURL, "")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	cb := s.idp.SignIn(t, br.c, res.Header.Get("Location"), login)
	require.Equal(t, s.env.PublicURL+"/auth/callback", cb.Scheme+"://"+cb.Host+cb.Path)
	return br.get(cb.String(), "")
}

func sessionOf(t *testing.T, res *http.Response) string {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == cookieName && c.Value != "" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie in %v", res.Header.Values("Set-Cookie"))
	return ""
}

func (s *ssoEnv) meByCookie(t *testing.T, cookie string) commonclient.User {
	t.Helper()
	res, err := s.env.User("").MeGetWithResponse(s.ctx, withCookie(cookie))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return *res.JSON200
}

// TestSSOCodeFlow: the full authorization code flow with PKCE against a real OpenID provider,
// through its login and consent pages; a replayed callback, a tampered state and a callback in
// another browser are refused.
func TestSSOCodeFlow(t *testing.T) {
	t.Parallel()
	s := setupSSO(t)
	s.start(t)
	s.localProvider(t)
	br := newBrowser(t, s.env)
	res, _ := br.get(s.env.PublicURL+"/auth/login?provider=local&return_to=/app/keys", "")
	require.Equal(t, http.StatusFound, res.StatusCode)
	to, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	q := to.Query()
	require.Equal(t, s.idp.Issuer, to.Scheme+"://"+to.Host)
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Len(t, q.Get("code_challenge"), 43)
	require.NotEmpty(t, q.Get("nonce"))
	require.Len(t, q.Get("state"), 32)
	require.Equal(t, s.env.PublicURL+"/auth/callback", q.Get("redirect_uri"))
	require.Contains(t, q.Get("scope"), "openid")
	require.Empty(t, q.Get("code_verifier"))

	cb := s.idp.SignIn(t, br.c, to.String(), "alice")
	res, body := br.get(cb.String(), "")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	require.Equal(t, "/app/keys", res.Header.Get("Location"))
	me := s.meByCookie(t, sessionOf(t, res))
	require.Equal(t, "alice", me.Username)
	require.Equal(t, "alice@example.test", me.Email.MustGet())

	// The same callback again (a replayed code and state): refused.
	res, body = br.get(cb.String(), "")
	apptest.RequireError(t, http.StatusBadRequest, "sso_state_invalid", "", res.StatusCode, []byte(body))

	// A tampered state, then the real one from another browser: refused.
	res, _ = br.get(s.env.PublicURL+"/auth/login?provider=local", "")
	cb = s.idp.SignIn(t, br.c, res.Header.Get("Location"), "alice")
	tampered := *cb
	tq := tampered.Query()
	last := "x"
	if strings.HasSuffix(tq.Get("state"), last) {
		last = "y"
	}
	tq.Set("state", tq.Get("state")[:31]+last)
	tampered.RawQuery = tq.Encode()
	res, body = br.get(tampered.String(), "")
	apptest.RequireError(t, http.StatusBadRequest, "sso_state_invalid", "", res.StatusCode, []byte(body))
	res, body = newBrowser(t, s.env).get(cb.String(), "")
	apptest.RequireError(t, http.StatusBadRequest, "sso_state_invalid", "", res.StatusCode, []byte(body))

	// Signing in again finds the same user; return_to off the site lands on /app.
	for _, bad := range []string{"https://evil.example/x", "//evil.example", "/\\evil.example", "app"} {
		res, body = s.signIn(t, newBrowser(t, s.env), s.env.PublicURL+"/auth/login?provider=local&return_to="+url.QueryEscape(bad), "alice")
		require.Equal(t, http.StatusFound, res.StatusCode, body)
		require.Equal(t, "/app", res.Header.Get("Location"), bad)
		require.Equal(t, me.Id, s.meByCookie(t, sessionOf(t, res)).Id)
	}

	// The provider's refusal, shown as a page to a browser.
	res, _ = br.get(s.env.PublicURL+"/auth/login?provider=local", "")
	state, _ := url.Parse(res.Header.Get("Location"))
	res, body = br.get(s.env.PublicURL+"/auth/callback?error=access_denied&state="+state.Query().Get("state"), "text/html")
	require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
	require.Contains(t, res.Header.Get("Content-Type"), "text/html")
	require.Contains(t, body, "Sign-in refused")
	res, body = br.get(s.env.PublicURL+"/auth/login?provider=nope", "")
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", res.StatusCode, []byte(body))
}

// TestSSORegistrationPolicy: a provider without auto-register refuses unknown identities (a page
// for a browser); the trust level setting refuses identities below it.
func TestSSORegistrationPolicy(t *testing.T) {
	t.Parallel()
	s := setupSSO(t)
	s.idp.Claim("low", "trust_level", 1)
	s.idp.Claim("high", "trust_level", 3)
	s.start(t)
	authz, token, userinfo := s.idp.Endpoints(t)
	kind := adminclient.Oauth2
	claimTL, claimSub, claimName := "trust_level", "sub", "preferred_username"
	scopes := []string{"openid", "profile", "email"}
	p := s.provider(t, adminclient.OIDCProviderCreate{Slug: "plain", Name: "Plain OAuth2", Kind: &kind,
		AuthorizationUrl: &authz, TokenUrl: &token, UserinfoUrl: &userinfo, Scopes: &scopes,
		ClaimSubject: &claimSub, ClaimUsername: &claimName, ClaimTrustLevel: &claimTL})
	s.settings(t, adminclient.SettingsUpdate{RegistrationMinTrustLevel: ptr(2)})
	login := s.env.PublicURL + "/auth/login?provider=plain"

	res, body := s.signIn(t, newBrowser(t, s.env), login, "low")
	apptest.RequireError(t, http.StatusForbidden, "trust_level_too_low", "", res.StatusCode, []byte(body))
	res, body = s.signIn(t, newBrowser(t, s.env), login, "high")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	me := s.meByCookie(t, sessionOf(t, res))
	require.Equal(t, "high", me.Username)
	require.Equal(t, 3, *me.TrustLevel)

	off := false
	up, err := s.env.Admin().OidcProviderUpdateWithResponse(s.ctx, p.Id, adminclient.OIDCProviderUpdate{AutoRegister: &off})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	br := newBrowser(t, s.env)
	res, _ = br.get(login, "")
	cb := s.idp.SignIn(t, br.c, res.Header.Get("Location"), "newcomer")
	res, body = br.get(cb.String(), "text/html,application/xhtml+xml")
	require.Equal(t, http.StatusForbidden, res.StatusCode, body)
	require.Contains(t, res.Header.Get("Content-Type"), "text/html")
	require.Contains(t, body, "does not register new users")
	res, body = s.signIn(t, newBrowser(t, s.env), login, "high")
	require.Equal(t, http.StatusFound, res.StatusCode, "known identities still sign in: %s", body)
}

// TestSSOBinding links an identity to a signed-in user through a bind URL; the identity then
// signs that user in, and never links to a second user.
func TestSSOBinding(t *testing.T) {
	t.Parallel()
	s := setupSSO(t)
	s.start(t)
	s.localProvider(t)
	carl := s.register(t, "carl", "carl-password")
	bind := func(token string) string {
		res, err := s.env.User(token).IdentityBindUrlCreateWithResponse(s.ctx, userclient.BindUrlRequest{Provider: "local"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		require.True(t, strings.HasPrefix(res.JSON200.Url, s.env.PublicURL+"/auth/login?provider=local&bind="))
		return res.JSON200.Url
	}
	link := bind(carl.token)
	res, body := s.signIn(t, newBrowser(t, s.env), link, "carl-at-idp")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	require.Equal(t, "/app", res.Header.Get("Location"))
	require.Empty(t, res.Cookies(), "linking signs nobody in")
	res, body = newBrowser(t, s.env).get(link, "")
	apptest.RequireError(t, http.StatusNotFound, "not_found", "binding link", res.StatusCode, []byte(body))

	res, body = s.signIn(t, newBrowser(t, s.env), s.env.PublicURL+"/auth/login?provider=local", "carl-at-idp")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	require.Equal(t, carl.user.Id, s.meByCookie(t, sessionOf(t, res)).Id)

	dora := s.register(t, "dora", "dora-password")
	res, body = s.signIn(t, newBrowser(t, s.env), bind(dora.token), "carl-at-idp")
	apptest.RequireError(t, http.StatusConflict, "identity_taken", "", res.StatusCode, []byte(body))

	// An API key cannot make a binding link.
	k, err := s.env.User(carl.token).ApiKeyCreateWithResponse(s.ctx, userclient.ApiKeyCreateRequest{Name: "k"})
	require.NoError(t, err)
	r, err := s.env.User(k.JSON201.Key).IdentityBindUrlCreateWithResponse(s.ctx, userclient.BindUrlRequest{Provider: "local"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "session_required", "", r.StatusCode(), r.Body)
}

// TestSSODefaultProvider: OIDC_ISSUER configures the provider `oidc`, used when none is named.
func TestSSODefaultProvider(t *testing.T) {
	t.Parallel()
	idp := testsvc.NewOIDC(t)
	b := setup(t, apptest.WithConfig(func(c *config.Config) {
		c.AllowPrivateOutbound = "127.0.0.1"
		c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = idp.Issuer, idp.ClientID, idp.ClientSecret
	}))
	s := &ssoEnv{testBundle: b, idp: idp}
	s.start(t)
	res, body := s.signIn(t, newBrowser(t, s.env), s.env.PublicURL+"/auth/login", "erin")
	require.Equal(t, http.StatusFound, res.StatusCode, body)
	require.Equal(t, "erin", s.meByCookie(t, sessionOf(t, res)).Username)
	list, err := s.env.Admin().OidcProviderListWithResponse(s.ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, "oidc", list.JSON200.Items[0].Slug)
	require.True(t, list.JSON200.Items[0].HasClientSecret)
	require.NotContains(t, string(list.Body), idp.ClientSecret)
	pub, err := s.env.Public().SettingsPublicGetWithResponse(s.ctx)
	require.NoError(t, err)
	require.Equal(t, "oidc", (*pub.JSON200.SsoProviders)[0].Slug)
}

// TestSSOWrongIssuer: a provider whose discovery document names another issuer is refused.
func TestSSOWrongIssuer(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.1,localhost" }))
	s.start(t)
	kind := adminclient.Oidc
	iss := strings.Replace(s.idp.Issuer, "127.0.0.1", "localhost", 1)
	s.provider(t, adminclient.OIDCProviderCreate{Slug: "liar", Name: "Liar", Kind: &kind, Issuer: &iss})
	res, body := newBrowser(t, s.env).get(s.env.PublicURL+"/auth/login?provider=liar", "")
	apptest.RequireError(t, http.StatusBadGateway, "sso_failed", "", res.StatusCode, []byte(body))
}

// TestProviderAdmin: presets fill providers in; secrets are write-only; incomplete or private
// providers are refused.
func TestProviderAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	adm := b.env.Admin()
	preset := adminclient.Linuxdo
	secret := "linuxdo-client-secret-value"
	res, err := adm.OidcProviderCreateWithResponse(b.ctx, adminclient.OIDCProviderCreate{Slug: "linuxdo", Name: "Linux.do",
		Preset: &preset, ClientId: "pg", ClientSecret: &secret})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	p := res.JSON201
	require.Equal(t, adminclient.Oauth2, p.Kind)
	require.Equal(t, "https://connect.linux.do/oauth2/authorize", p.AuthorizationUrl)
	require.Equal(t, "https://connect.linux.do/api/user", p.UserinfoUrl)
	require.Equal(t, "trust_level", p.ClaimTrustLevel)
	require.Equal(t, "id", p.ClaimSubject)
	require.True(t, p.HasClientSecret)
	require.Equal(t, b.env.PublicURL+"/auth/callback", p.RedirectUri)
	require.NotContains(t, string(res.Body), secret)

	gh := adminclient.Github
	res, err = adm.OidcProviderCreateWithResponse(b.ctx, adminclient.OIDCProviderCreate{Slug: "github", Name: "GitHub", Preset: &gh, ClientId: "pg"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Equal(t, "login", res.JSON201.ClaimUsername)
	require.False(t, res.JSON201.HasClientSecret)

	res, err = adm.OidcProviderCreateWithResponse(b.ctx, adminclient.OIDCProviderCreate{Slug: "linuxdo", Name: "Again", Preset: &preset, ClientId: "pg"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "conflict", "", res.StatusCode(), res.Body)
	kind := adminclient.Oauth2
	res, err = adm.OidcProviderCreateWithResponse(b.ctx, adminclient.OIDCProviderCreate{Slug: "half", Name: "Half", Kind: &kind, ClientId: "pg"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "authorization_url", res.StatusCode(), res.Body)
	oidc := adminclient.Oidc
	private := "http://127.0.0.1:9/issuer"
	res, err = adm.OidcProviderCreateWithResponse(b.ctx, adminclient.OIDCProviderCreate{Slug: "private", Name: "Private", Kind: &oidc,
		Issuer: &private, ClientId: "pg"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "not allowed", res.StatusCode(), res.Body)

	// Update: the secret is replaced or removed, never shown.
	empty := ""
	up, err := adm.OidcProviderUpdateWithResponse(b.ctx, p.Id, adminclient.OIDCProviderUpdate{ClientSecret: &empty})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.False(t, up.JSON200.HasClientSecret)
	require.Equal(t, "https://connect.linux.do/oauth2/token", up.JSON200.TokenUrl, "other fields stay")
	get, err := adm.OidcProviderGetWithResponse(b.ctx, p.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get.StatusCode(), string(get.Body))
	del, err := adm.OidcProviderDeleteWithResponse(b.ctx, p.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	get, err = adm.OidcProviderGetWithResponse(b.ctx, p.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", get.StatusCode(), get.Body)
}
