package public_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/hookserver"
)

type tokenLogin struct {
	status   int
	location string
	cookie   *http.Cookie
	code     int
	msg      string
}

// logintoken calls GET /logintoken without following the redirect.
func logintoken(t *testing.T, env *apptest.Env, q url.Values) tokenLogin {
	t.Helper()
	hc := &http.Client{Transport: env.HTTP.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := hc.Get(env.URL + "/logintoken?" + q.Encode())
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	out := tokenLogin{status: res.StatusCode, location: res.Header.Get("Location"), code: body.Code, msg: body.Msg}
	for _, c := range res.Cookies() {
		if c.Name == "poolgate_session" {
			out.cookie = c
		}
	}
	return out
}

// me reads the signed-in user through the session cookie.
func me(t *testing.T, env *apptest.Env, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/api/user/me", nil)
	req.AddCookie(c)
	res, err := env.HTTP.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

func TestLoginTokenLocal(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	u := env.NewUser("tina", 0)

	got := logintoken(t, env, url.Values{"access_token": {u.Key}, "carid": {"car-7"}})
	require.Equal(t, http.StatusFound, got.status)
	require.Equal(t, 0, got.code)
	require.Equal(t, "/app?account=car-7", got.location)
	require.NotNil(t, got.cookie)
	require.Equal(t, http.StatusOK, me(t, env, got.cookie), "the session cookie signs the user in")

	got = logintoken(t, env, url.Values{"access_token": {u.Token}}) // the sign-in JWT works too
	require.Equal(t, http.StatusFound, got.status)
	require.Equal(t, "/app", got.location)

	for _, q := range []url.Values{{"access_token": {"sk-unknown"}}, {"access_token": {"not-a-jwt"}}, {}} {
		got = logintoken(t, env, q)
		require.Equal(t, http.StatusUnauthorized, got.status)
		require.Equal(t, -1, got.code)
		require.Nil(t, got.cookie)
	}

	// An expired plan: -2, or a redirect when expired_redirect_url is set.
	conn, err := pgx.Connect(context.Background(), env.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "UPDATE users SET plan_expires_at = $1 WHERE id = $2", time.Now().Add(-time.Hour), u.ID)
	require.NoError(t, err)
	got = logintoken(t, env, url.Values{"access_token": {u.Key}})
	require.Equal(t, http.StatusForbidden, got.status)
	require.Equal(t, -2, got.code)
	to := "https://shop.example.com/renew"
	res, err := env.Admin().SettingsUpdateWithResponse(context.Background(), adminclient.SettingsUpdate{ExpiredRedirectUrl: &to})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	got = logintoken(t, env, url.Values{"access_token": {u.Key}})
	require.Equal(t, http.StatusFound, got.status)
	require.Equal(t, to, got.location)
	require.Equal(t, -2, got.code)
	require.Nil(t, got.cookie)
}

// TestLoginTokenHook: with a login-check hook, every token goes to it (local keys no longer sign
// in); its refusal message reaches the user; its grant becomes the user's tier. The hook URL is
// set at run time on one instance and used by another.
func TestLoginTokenHook(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookserver.Config{LoginTokens: map[string]string{"vip-token": "ultra", "plain-token": ""}})
	env := apptest.New(t, apptest.HookConfig(2*time.Second, false))
	other := apptest.New(t, apptest.Sharing(env), apptest.HookConfig(2*time.Second, false))
	u := env.NewUser("local", 0)
	oauth := recv.URL + "/oauth"
	res, err := env.Admin().SettingsUpdateWithResponse(context.Background(), adminclient.SettingsUpdate{OauthUrl: &oauth})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))

	var got tokenLogin
	require.Eventually(t, func() bool {
		got = logintoken(t, other, url.Values{"access_token": {"vip-token"}})
		return got.status == http.StatusFound
	}, 5*time.Second, 20*time.Millisecond, "the other instance uses the hook set on the first")
	require.Equal(t, 0, got.code)
	require.Equal(t, http.StatusOK, me(t, other, got.cookie))

	conn, err := pgx.Connect(context.Background(), env.DatabaseURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var tier string
	var users int
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT u.tier, (SELECT count(*) FROM token_logins) FROM users u JOIN token_logins t ON t.user_id = u.id").Scan(&tier, &users))
	require.Equal(t, "ultra", tier, "the hook's grant is the user's tier")
	require.Equal(t, 1, users)

	got = logintoken(t, other, url.Values{"access_token": {"vip-token"}}) // the same user again
	require.Equal(t, http.StatusFound, got.status)
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM token_logins").Scan(&users))
	require.Equal(t, 1, users)

	got = logintoken(t, env, url.Values{"access_token": {"stranger"}})
	require.Equal(t, http.StatusUnauthorized, got.status)
	require.Equal(t, -1, got.code)
	require.Equal(t, "token not recognised", got.msg, "the hook's msg")
	got = logintoken(t, env, url.Values{"access_token": {u.Key}})
	require.Equal(t, -1, got.code, "local token sign-in is off while the hook is configured")

	recv.Down.Store(true)
	got = logintoken(t, env, url.Values{"access_token": {"vip-token"}})
	require.Equal(t, -1, got.code, "a failing hook refuses")
}

// TestLoginTokenSeedScript: seed 000's login check as a plain script writes it — the seed's JSON
// answer with a text/plain Content-Type, or none — signs users in, and a refusal shows the
// script's own msg. The request it receives is the seed's.
func TestLoginTokenSeedScript(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []byte
	answer := `{"code": 1, "msg": "success", "grant": "pro"}`
	contentType := "text/plain; charset=utf-8"
	script := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		a, ct := answer, contentType
		mu.Unlock()
		w.Header()["Content-Type"] = nil
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		_, _ = io.WriteString(w, a)
	}))
	t.Cleanup(script.Close)
	env := apptest.New(t, apptest.HookConfig(2*time.Second, false))
	oauth := script.URL + "/auth.php"
	res, err := env.Admin().SettingsUpdateWithResponse(context.Background(), adminclient.SettingsUpdate{OauthUrl: &oauth})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))

	for _, ct := range []string{"text/plain; charset=utf-8", ""} {
		mu.Lock()
		contentType = ct
		mu.Unlock()
		in := logintoken(t, env, url.Values{"access_token": {"seed-user-token"}})
		require.Equal(t, http.StatusFound, in.status, "Content-Type %q", ct)
		require.Equal(t, 0, in.code)
		require.Equal(t, "/app", in.location)
		require.Equal(t, http.StatusOK, me(t, env, in.cookie))
	}
	mu.Lock()
	require.JSONEq(t, `{"usertoken": "seed-user-token", "carid": "", "nodeType": "", "planType": ""}`, string(got))
	answer = `{"code": 0, "msg": "账号已到期,请续费"}`
	mu.Unlock()
	refused := logintoken(t, env, url.Values{"access_token": {"seed-user-token"}})
	require.Equal(t, http.StatusUnauthorized, refused.status)
	require.Equal(t, -1, refused.code)
	require.Equal(t, "账号已到期,请续费", refused.msg, "the script's own msg")
}
