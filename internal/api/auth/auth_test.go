package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/auth"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
)

const (
	cookieName      = "poolgate_session"
	msgUnauthorized = "密钥无效或已失效,请重新登录"
)

type testBundle struct {
	env *apptest.Env
	// auth is the anonymous auth client; every request and response is checked against the spec.
	auth *authclient.ClientWithResponses
	// raw sends requests that break the spec on purpose (responses are still checked).
	raw *authclient.ClientWithResponses
	ctx context.Context
}

func setup(t *testing.T, opts ...apptest.Option) *testBundle {
	t.Helper()
	env := apptest.New(t, opts...)
	raw, err := authclient.NewClientWithResponses(env.URL, authclient.WithHTTPClient(env.RawHTTP))
	require.NoError(t, err)
	return &testBundle{env: env, auth: env.Auth(), raw: raw, ctx: context.Background()}
}

// stores runs fn with the app's sessions in Redis and in process.
func stores(t *testing.T, fn func(t *testing.T, opts ...apptest.Option)) {
	t.Helper()
	t.Run("Redis", func(t *testing.T) {
		t.Parallel()
		fn(t)
	})
	t.Run("WithoutRedis", func(t *testing.T) {
		t.Parallel()
		fn(t, apptest.WithoutRedis())
	})
}

func withCookie(value string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: value})
		return nil
	}
}

// signedIn is what a sign-in returned.
type signedIn struct {
	token  string
	cookie *http.Cookie
	user   commonclient.User
}

func (b *testBundle) register(t *testing.T, username, password string) signedIn {
	t.Helper()
	res, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: username, Password: password})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return signedIn{token: res.JSON200.Token, cookie: sessionCookie(t, res.HTTPResponse), user: res.JSON200.User}
}

func (b *testBundle) login(t *testing.T, username, password string) signedIn {
	t.Helper()
	res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: username, Password: password})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return signedIn{token: res.JSON200.Token, cookie: sessionCookie(t, res.HTTPResponse), user: res.JSON200.User}
}

// sessionCookie parses the one Set-Cookie of a sign-in.
func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	lines := res.Header.Values("Set-Cookie")
	require.Len(t, lines, 1)
	c, err := http.ParseSetCookie(lines[0])
	require.NoError(t, err)
	require.Equal(t, cookieName, c.Name)
	return c
}

// meStatus calls GET /api/user/me with the given editors and returns the status and body.
func (b *testBundle) me(t *testing.T, editors ...userclient.RequestEditorFn) (int, []byte) {
	t.Helper()
	res, err := b.env.User("").MeGetWithResponse(b.ctx, editors...)
	require.NoError(t, err)
	return res.StatusCode(), res.Body
}

func requireMe(t *testing.T, b *testBundle, want string, editors ...userclient.RequestEditorFn) {
	t.Helper()
	status, body := b.me(t, editors...)
	require.Equal(t, http.StatusOK, status, string(body))
	var u commonclient.User
	require.NoError(t, json.Unmarshal(body, &u))
	require.Equal(t, want, u.Username)
}

func requireMeRefused(t *testing.T, b *testBundle, editors ...userclient.RequestEditorFn) {
	t.Helper()
	status, body := b.me(t, editors...)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, status, body)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, opts ...apptest.Option) {
		b := setup(t, opts...)
		start := time.Now()
		res, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "Alice", Password: "alice-password"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		s := res.JSON200
		require.NotEmpty(t, s.Token)
		require.Equal(t, authclient.Bearer, s.TokenType)
		require.WithinDuration(t, start.Add(24*time.Hour), s.ExpiresAt, time.Minute)
		require.Equal(t, "Alice", s.User.Username)
		require.Equal(t, commonclient.UserRoleUser, s.User.Role)
		require.Equal(t, commonclient.Active, s.User.Status)
		require.Zero(t, s.User.Balance)
		require.NotContains(t, string(res.Body), "alice-password")
		require.NotContains(t, string(res.Body), "$2a$")

		c := sessionCookie(t, res.HTTPResponse)
		require.NotEmpty(t, c.Value)
		require.True(t, c.HttpOnly)
		require.Equal(t, "/", c.Path)
		require.Equal(t, 86400, c.MaxAge)
		require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		require.False(t, c.Secure, "development serves plain HTTP")
		require.NotEqual(t, s.Token, c.Value)

		// The JWT works, and the cookie works on its own.
		requireMe(t, b, "Alice", apptest.Bearer(s.Token))
		requireMe(t, b, "Alice", withCookie(c.Value))
		// The user can sign in with the new password.
		b.login(t, "alice", "alice-password")
	})
}

func TestRegisterNewUserBalance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bal := int64(4242)
	up, err := b.env.Admin().SettingsUpdateWithResponse(b.ctx, adminclient.SettingsUpdate{NewUserBalance: &bal})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	s := b.register(t, "rich", "rich-password")
	require.Equal(t, bal, s.user.Balance)
}

func TestRegisterDuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, "Bob", "bob-password")
	for _, name := range []string{"Bob", "bob", "BOB", "admin", "ADMIN"} {
		res, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: name, Password: "other-password"})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusConflict, "conflict", "username is already taken", res.StatusCode(), res.Body)
	}
	// The first owner keeps the name and the password.
	b.login(t, "bob", "bob-password")
	res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "bob", Password: "other-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "invalid username or password", res.StatusCode(), res.Body)
}

func TestRegisterDisabled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	set := func(on bool) {
		res, err := b.env.Admin().SettingsUpdateWithResponse(b.ctx, adminclient.SettingsUpdate{RegistrationEnabled: &on})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	}
	set(false)
	res, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "carol", Password: "carol-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "forbidden", "registration is disabled", res.StatusCode(), res.Body)
	// Nobody was created.
	lr, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "carol", Password: "carol-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", lr.StatusCode(), lr.Body)
	// Existing users still sign in.
	b.login(t, apptest.AdminUsername, apptest.AdminPassword)

	set(true)
	b.register(t, "carol", "carol-password")
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := b.register(t, "dave", "dave-password")

	s := b.login(t, "dave", "dave-password")
	require.Equal(t, reg.user, s.user)
	require.NotEqual(t, reg.token, s.token, "each sign-in is a new token")
	require.NotEqual(t, reg.cookie.Value, s.cookie.Value, "and a new session")
	require.True(t, s.cookie.HttpOnly)
	requireMe(t, b, "dave", apptest.Bearer(s.token))
	requireMe(t, b, "dave", withCookie(s.cookie.Value))
	b.login(t, "DAVE", "dave-password") // usernames are case-insensitive

	for name, req := range map[string]authclient.LoginRequest{
		"WrongPassword":   {Username: "dave", Password: "wrong-password"},
		"PasswordCase":    {Username: "dave", Password: "DAVE-PASSWORD"},
		"UnknownUser":     {Username: "nobody", Password: "dave-password"},
		"OneCharPassword": {Username: "dave", Password: "d"},
	} {
		res, err := b.auth.PasswordLoginWithResponse(b.ctx, req)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "invalid username or password", res.StatusCode(), res.Body)
		require.Empty(t, res.HTTPResponse.Header.Values("Set-Cookie"), name)
	}
}

func TestLoginDisabledUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.register(t, "erin", "erin-password")
	disabled := commonclient.Disabled
	up, err := b.env.Admin().UserUpdateWithResponse(b.ctx, s.user.Id, adminclient.UserUpdate{Status: &disabled})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))

	res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "erin", Password: "erin-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "forbidden", "this account is disabled", res.StatusCode(), res.Body)
	require.Empty(t, res.HTTPResponse.Header.Values("Set-Cookie"))
	// A wrong password still says only that the credentials are wrong.
	res, err = b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "erin", Password: "wrong-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", res.StatusCode(), res.Body)

	// Disabling ended the user's sessions: what was issued before stops working.
	for _, ed := range []userclient.RequestEditorFn{apptest.Bearer(s.token), withCookie(s.cookie.Value)} {
		requireMeRefused(t, b, ed)
	}
}

func TestLogoutJWT(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, opts ...apptest.Option) {
		b := setup(t, opts...)
		s := b.register(t, "frank", "frank-password")
		other := b.login(t, "frank", "frank-password")

		res, err := b.auth.SessionLogoutWithResponse(b.ctx, apptest.Bearer(s.token))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
		cleared := sessionCookie(t, res.HTTPResponse)
		require.Empty(t, cleared.Value)
		require.Negative(t, cleared.MaxAge, "the cookie is deleted")
		require.True(t, cleared.HttpOnly)

		requireMeRefused(t, b, apptest.Bearer(s.token))
		res, err = b.auth.SessionLogoutWithResponse(b.ctx, apptest.Bearer(s.token))
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, res.StatusCode(), res.Body)

		// Another sign-in of the same user is untouched, token and cookie.
		requireMe(t, b, "frank", apptest.Bearer(other.token))
		requireMe(t, b, "frank", withCookie(other.cookie.Value))
	})
}

func TestLogoutCookie(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, opts ...apptest.Option) {
		b := setup(t, opts...)
		s := b.register(t, "grace", "grace-password")
		other := b.login(t, "grace", "grace-password")

		res, err := b.auth.SessionLogoutWithResponse(b.ctx, withCookie(s.cookie.Value))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
		require.Negative(t, sessionCookie(t, res.HTTPResponse).MaxAge)
		requireMeRefused(t, b, withCookie(s.cookie.Value))
		requireMe(t, b, "grace", withCookie(other.cookie.Value))

		// Both at once: the session ends, JWT and cookie alike.
		res, err = b.auth.SessionLogoutWithResponse(b.ctx, apptest.Bearer(other.token), withCookie(other.cookie.Value))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
		requireMeRefused(t, b, apptest.Bearer(other.token))
		requireMeRefused(t, b, withCookie(other.cookie.Value))
	})
}

func TestLogoutWithoutCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, eds := range map[string][]authclient.RequestEditorFn{
		"None":          nil,
		"UnknownCookie": {withCookie("no-such-session")},
		"BadToken":      {apptest.Bearer("not-a-jwt")},
	} {
		res, err := b.auth.SessionLogoutWithResponse(b.ctx, eds...)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, res.StatusCode(), res.Body)
	}
}

func TestDeviceLimit(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, opts ...apptest.Option) {
		b := setup(t, append(opts, apptest.WithConfig(func(c *config.Config) { c.SessionMaxDevices = 2 }))...)
		first := b.register(t, "heidi", "heidi-password")
		second := b.login(t, "heidi", "heidi-password")
		requireMe(t, b, "heidi", withCookie(first.cookie.Value))
		third := b.login(t, "heidi", "heidi-password")

		requireMeRefused(t, b, withCookie(first.cookie.Value))
		requireMe(t, b, "heidi", withCookie(second.cookie.Value))
		requireMe(t, b, "heidi", withCookie(third.cookie.Value))
		// The JWT of the evicted session stops with it.
		requireMeRefused(t, b, apptest.Bearer(first.token))
		requireMe(t, b, "heidi", apptest.Bearer(second.token))

		// Another user's sign-ins do not count against heidi's.
		b.register(t, "ivan", "ivan-password")
		b.login(t, "ivan", "ivan-password")
		b.login(t, "ivan", "ivan-password")
		requireMe(t, b, "heidi", withCookie(second.cookie.Value))

		// Signing out frees a slot.
		res, err := b.auth.SessionLogoutWithResponse(b.ctx, withCookie(second.cookie.Value))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
		fourth := b.login(t, "heidi", "heidi-password")
		requireMe(t, b, "heidi", withCookie(third.cookie.Value))
		requireMe(t, b, "heidi", withCookie(fourth.cookie.Value))
	})
}

// TestSharedSessions runs two instances on one database and Redis: a sign-in on one works on the
// other, and a sign-out on one is seen by the other at once.
func TestSharedSessions(t *testing.T) {
	t.Parallel()
	a := setup(t)
	bEnv := apptest.New(t, apptest.Sharing(a.env))
	b := &testBundle{env: bEnv, auth: bEnv.Auth(), ctx: context.Background()}

	s := a.register(t, "judy", "judy-password")
	requireMe(t, b, "judy", apptest.Bearer(s.token))
	requireMe(t, b, "judy", withCookie(s.cookie.Value))

	res, err := a.auth.SessionLogoutWithResponse(a.ctx, apptest.Bearer(s.token), withCookie(s.cookie.Value))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
	requireMeRefused(t, b, apptest.Bearer(s.token))
	requireMeRefused(t, b, withCookie(s.cookie.Value))
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, "kate", "kate-password")
	type call func(ctx context.Context, contentType string, body io.Reader, reqEditors ...authclient.RequestEditorFn) (int, []byte, error)
	register := func(ctx context.Context, ct string, body io.Reader, eds ...authclient.RequestEditorFn) (int, []byte, error) {
		res, err := b.raw.PasswordRegisterWithBodyWithResponse(ctx, ct, body, eds...)
		if err != nil {
			return 0, nil, err
		}
		return res.StatusCode(), res.Body, nil
	}
	login := func(ctx context.Context, ct string, body io.Reader, eds ...authclient.RequestEditorFn) (int, []byte, error) {
		res, err := b.raw.PasswordLoginWithBodyWithResponse(ctx, ct, body, eds...)
		if err != nil {
			return 0, nil, err
		}
		return res.StatusCode(), res.Body, nil
	}
	big := `{"username":"kate","password":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"MalformedJSON", `{"username": "kate",`, http.StatusBadRequest, "invalid_json", ""},
		{"NotAnObject", `["kate", "kate-password"]`, http.StatusBadRequest, "invalid_request", ""},
		{"EmptyBody", ``, http.StatusBadRequest, "", ""},
		{"WrongTypes", `{"username": 42, "password": true}`, http.StatusBadRequest, "invalid_request", ""},
		{"MissingPassword", `{"username": "kate"}`, http.StatusBadRequest, "invalid_request", "password"},
		{"MissingUsername", `{"password": "kate-password"}`, http.StatusBadRequest, "invalid_request", "username"},
		{"UnknownField", `{"username": "kate", "password": "kate-password", "role": "admin"}`, http.StatusBadRequest, "invalid_request", "role"},
		{"TooLarge", big, http.StatusRequestEntityTooLarge, "body_too_large", "request body is too large"},
	}
	for _, tt := range tests {
		for name, send := range map[string]call{"Register": register, "Login": login} {
			status, body, err := send(b.ctx, "application/json", strings.NewReader(tt.body))
			require.NoError(t, err, "%s %s", name, tt.name)
			code := tt.code
			if code == "" {
				code = codeOf(t, body)
				require.Contains(t, []string{"invalid_json", "invalid_request"}, code)
			}
			apptest.RequireError(t, tt.status, code, tt.msg, status, body)
		}
	}

	// Registration has stricter rules than sign-in.
	for name, body := range map[string]string{
		"ShortPassword": `{"username": "leo", "password": "short"}`,
		"ShortUsername": `{"username": "le", "password": "leo-password"}`,
		"LongUsername":  `{"username": "` + strings.Repeat("l", 33) + `", "password": "leo-password"}`,
		"BadUsername":   `{"username": "leo leo", "password": "leo-password"}`,
		"LongPassword":  `{"username": "leo", "password": "` + strings.Repeat("p", 129) + `"}`,
	} {
		status, got, err := register(b.ctx, "application/json", strings.NewReader(body))
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", status, got)
	}
	status, body, err := register(b.ctx, "application/json", strings.NewReader(`{"username": "leo", "password": "short"}`))
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "password", status, body)

	// A body without a length is bounded as it is read.
	status, body, err = register(b.ctx, "application/json", io.MultiReader(strings.NewReader(big)))
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusRequestEntityTooLarge, "body_too_large", "", status, body)

	// The wrong media type.
	status, body, err = login(b.ctx, "text/plain", strings.NewReader(`{"username": "kate", "password": "kate-password"}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, status, string(body))
	codeOf(t, body)

	// None of it created anybody.
	res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "leo", Password: "leo-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", res.StatusCode(), res.Body)
}

func codeOf(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Detail struct {
			Code string `json:"code"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.NotEmpty(t, e.Detail.Code, string(body))
	return e.Detail.Code
}
