package web_test

import (
	"context"
	_ "embed" // the browser scenarios
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/browsertest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/hookserver"
	"github.com/poolgate/poolgate/internal/testsvc"
)

var (
	//go:embed testdata/lib.js
	libJS string
	//go:embed testdata/user.js
	userJS string
	//go:embed testdata/admin.js
	adminJS string
	//go:embed testdata/public.js
	publicJS string
	//go:embed testdata/identity.js
	identityJS string
	//go:embed testdata/accounts.js
	accountsJS string
	//go:embed testdata/oauth.js
	oauthJS string
)

const model = "gpt-4o-mini"

// scenario runs a console scenario with the shared helpers (screenshots of every page kept in
// its artifact directory, axe-core checks, the 375 px check). The bound is generous: each page
// is checked twice by axe and shot three times, which is slow on a loaded machine (the admin
// scenario took 7m50s of its former 8m bound with the machine's load at 50).
func scenario(t *testing.T, script string, env map[string]string) {
	t.Helper()
	browsertest.Run(t, browsertest.Scenario{Script: libJS + "\n" + script, Env: env, Timeout: 12 * time.Minute})
}

// TestConsoleUser: a user signs in at /app, creates a key (shown once), chats in the playground
// with a streamed answer from the fake upstream, finds the call in their usage, redeems a code,
// checks in, sees the limit's countdown on the dashboard, and switches to Chinese.
func TestConsoleUser(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Channel("pool", []string{model}, "sk-upstream-1")
	env.Price(model, 1000, 2000)
	u := env.NewUser("carol", 1_000_000)
	answer := "Pools share accounts fairly across a whole community of users"
	env.Upstream.Enqueue(fakeupstream.Reply{Text: answer, EventDelay: 150 * time.Millisecond})
	ctx := context.Background()
	codeQuota := int64(500_000)
	codes, err := env.Admin().RedemptionCodeCreateWithResponse(ctx, adminclient.RedemptionCodeCreate{Name: "welcome", Count: 1, Quota: &codeQuota})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, codes.StatusCode(), string(codes.Body))
	on, low, high := true, int64(1000), int64(5000)
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{CheckInEnabled: &on, CheckInMinReward: &low, CheckInMaxReward: &high})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	calls := int64(100)
	rule, err := env.Admin().LimitCreateWithResponse(ctx, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeUser, Model: "*", Window: "1h", Requests: &calls})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, rule.StatusCode(), string(rule.Body))
	scenario(t, userJS, map[string]string{
		"BASE_URL": env.URL, "USERNAME": u.Name, "PASSWORD": "password-" + u.Name, "MODEL": model, "ANSWER": answer,
		"CODE": codes.JSON201.Codes[0], "CODE_QUOTA": strconv.FormatInt(codeQuota, 10),
	})
}

// TestConsoleAdmin: an administrator creates a channel, an account and a price in /admin, sees
// a call in the logs and the statistics, and every admin page passes the checks.
func TestConsoleAdmin(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	u := env.NewUser("dave", 1_000_000)
	scenario(t, adminJS, map[string]string{
		"BASE_URL": env.URL, "ADMIN_USER": apptest.AdminUsername, "ADMIN_PASSWORD": apptest.AdminPassword,
		"UPSTREAM_URL": env.UpstreamURL, "MODEL": model, "CREDENTIAL": "sk-upstream-admin-ui", "USER_KEY": u.Key,
	})
}

// TestConsolePublic: the status page, the pricing page and the share-link chat (init, chat, the
// credential host's refusal).
func TestConsolePublic(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookserver.Config{LoginTokens: map[string]string{}, ShareToken: "fastgpt"})
	env := apptest.New(t, apptest.HookConfig(2*time.Second, false))
	ch := env.Channel("pool", []string{model}, "sk-upstream-1")
	env.Price(model, 1000, 2000)
	u := env.NewUser("erin", 1_000_000)
	ctx := context.Background()
	public := true
	mon, err := env.Admin().StatusMonitorCreateWithResponse(ctx, adminclient.StatusMonitorCreate{Name: "Chat API", ChannelId: ch, Public: &public})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, mon.StatusCode(), string(mon.Body))
	chk, err := env.Admin().StatusMonitorCheckWithResponse(ctx, mon.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, chk.StatusCode(), string(chk.Body))
	models := []string{model}
	link, err := env.Admin().ShareLinkCreateWithResponse(ctx, adminclient.ShareLinkCreate{Name: "films", UserId: u.ID, Models: &models, AuthHost: &recv.URL})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, link.StatusCode(), string(link.Body))
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "新海诚。"})
	scenario(t, publicJS, map[string]string{"BASE_URL": env.URL, "SHARE_ID": link.JSON201.Id, "SHARE_TOKEN": "fastgpt", "MODEL": model})
}

// TestConsoleIdentity: every sign-in method through the console, against real services: an
// administrator adds an OpenID provider (oidc-provider) in /admin; a user registers with an
// e-mail code read from the SMTP sink (maildev), adds a passkey with Chromium's virtual
// authenticator and signs in with it, ends another session, turns TOTP on and signs in with a
// code; another changes the password with an e-mail code; a third resets a forgotten one; a new
// user signs in through the provider's pages.
func TestConsoleIdentity(t *testing.T) {
	t.Parallel()
	md := testsvc.StartMaildev(t, "poolgate", "smtp-password-console")
	idp := testsvc.NewOIDC(t)
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.SMTPURL = md.SMTPURL; c.AllowPrivateOutbound = "127.0.0.1" }))
	idp.Start(t, env.PublicURL+"/auth/callback")
	ctx := context.Background()
	// Two users with e-mail addresses, registered before codes are required.
	for _, name := range []string{"noah", "olga"} {
		email := authclient.Email(name + "@example.test")
		res, err := env.Auth().PasswordRegisterWithResponse(ctx, authclient.RegisterRequest{Username: name, Password: "password-" + name, Email: &email})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	}
	on := true
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{RegistrationEnabled: &on, EmailVerificationRequired: &on})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	scenario(t, identityJS, map[string]string{
		"BASE_URL": env.PublicURL, "ADMIN_USER": apptest.AdminUsername, "ADMIN_PASSWORD": apptest.AdminPassword, "MAILDEV_URL": md.APIURL,
		"ISSUER": idp.Issuer, "CLIENT_ID": idp.ClientID, "CLIENT_SECRET": idp.ClientSecret,
	})
}

// TestConsoleAccounts: a user contributes an upstream account in /app/accounts: the upstream's
// refusal of a wrong key is shown, an accepted key is listed by its tail only, made dedicated,
// the routing order saved, and the account removed.
func TestConsoleAccounts(t *testing.T) {
	t.Parallel()
	const good = "sk-contrib-console-0123456789"
	env := apptest.New(t)
	up := fakeupstream.New(fakeupstream.WithKeys(good))
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	ch, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "contributed", Type: adminclient.Openai,
		BaseUrl: srv.URL + "/v1", Models: []string{model}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{
		ContributedAccountChannels: &adminclient.ContributedAccountChannels{"openai": ch.JSON201.Id}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	u := env.NewUser("finn", 1_000_000)
	scenario(t, accountsJS, map[string]string{"BASE_URL": env.URL, "USERNAME": u.Name, "PASSWORD": "password-" + u.Name,
		"GOOD_KEY": good, "BAD_KEY": "sk-contrib-wrong-9876543210"})
}

// TestConsoleOAuth: OAuth-based accounts through the console against a real (test) OAuth
// provider: a user's onboarding at /app/accounts (the provider redirects back), an
// administrator's into a channel at /admin/channels (a pasted code, a wrong one refused first;
// then a redirect back); and the administrator ending the user's sessions in /admin/users (the
// ended sessions' JWTs refused afterwards).
func TestConsoleOAuth(t *testing.T) {
	t.Parallel()
	prov := apptest.NewOAuthProvider(t)
	env := apptest.New(t, apptest.WithConfig(func(cfg *config.Config) {
		cfg.AllowPrivateOutbound = "127.0.0.0/8"
		cfg.OAuthAccountProviders = prov.ProvidersFor(map[string]string{"openai": "", "anthropic": prov.CodePage()})
	}))
	ctx := context.Background()
	ch, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "oauth-pool", Type: adminclient.Openai,
		BaseUrl: env.UpstreamURL, Models: []string{model}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{
		ContributedAccountChannels: &adminclient.ContributedAccountChannels{"openai": ch.JSON201.Id}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	u := env.NewUser("gwen", 1_000_000)
	const agent = "phone/1.0"
	phone := env.SignInAs(u.Name, "password-"+u.Name, agent)

	scenario(t, oauthJS, map[string]string{"BASE_URL": env.PublicURL, "USERNAME": u.Name, "PASSWORD": "password-" + u.Name,
		"ADMIN_USER": apptest.AdminUsername, "ADMIN_PASSWORD": apptest.AdminPassword, "CHANNEL": "oauth-pool",
		"PHONE_AGENT": agent, "PHONE_TOKEN": phone.JWT})

	accs, err := env.Admin().AccountListWithResponse(ctx, ch.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, accs.StatusCode(), string(accs.Body))
	names := []string{}
	for _, a := range accs.JSON200.Items {
		names = append(names, a.Nickname)
	}
	require.ElementsMatch(t, []string{"signed-in-account", "team-pasted", "team-redirected"}, names)
	for _, tok := range []string{phone.JWT, u.Token} {
		me, err := env.User(tok).MeGetWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, me.StatusCode(), "the administrator ended the user's sessions")
	}
	me, err := env.User(u.Key).MeGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), "the user's API key still works")
}

// TestConsoleServed: every console path answers the page with a strict CSP; assets are served
// with a long cache; anything else under /console/ is not found.
func TestConsoleServed(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	get := func(p string) (*http.Response, string) {
		res, err := http.Get(env.URL + p) //nolint:noctx // test
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		return res, string(b)
	}
	var asset string
	for _, p := range []string{"/app", "/app/", "/app/keys", "/admin", "/admin/channels", "/share/sl_x", "/chat/share?shareId=sl_x", "/uptime", "/pricing"} {
		res, body := get(p)
		require.Equal(t, http.StatusOK, res.StatusCode, p)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"), p)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'", p)
		require.Contains(t, body, `<div id="root">`, p)
		i := strings.Index(body, "/console/assets/")
		require.Positive(t, i, p)
		asset = body[i : i+strings.IndexByte(body[i:], '"')]
	}
	res, body := get(asset)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "javascript")
	require.Contains(t, res.Header.Get("Cache-Control"), "immutable")
	require.NotEmpty(t, body)
	for _, p := range []string{"/console/index.html", "/console/", "/console/assets/missing.js", "/console/../go.mod"} {
		res, _ := get(p)
		require.Equal(t, http.StatusNotFound, res.StatusCode, p)
	}
	// The gateway's share routes are not shadowed by the share page.
	res, _ = get("/share/sl_missing/init")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "application/json", strings.Split(res.Header.Get("Content-Type"), ";")[0])
}
