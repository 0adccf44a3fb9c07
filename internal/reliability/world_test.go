package reliability_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
)

// world is one app with the callers of the authorization matrix and resources they own.
type world struct {
	t   testing.TB
	env *apptest.Env
	// user owns the resources the owned operations name; other, muted and disabled are more users.
	user, other, muted, disabled *apptest.TestUser
	// cookie is a session cookie of user (a sign-in of its own); disabledJWT a JWT of disabled
	// from before it was disabled.
	cookie      string
	disabledJWT string
	// Resources of user: a key besides the one its key persona uses, a session besides the
	// personas', and an upstream account dedicated to it.
	spareKey     int64
	spareSession string
	account      int64
	channel      int64
}

// newWorld starts an app and makes the matrix's callers and resources. models are served by a
// channel on the fake upstream (the gateway examples' models).
func newWorld(t testing.TB, models []string, opts ...apptest.Option) *world {
	t.Helper()
	env := apptest.New(t, opts...)
	w := &world{t: t, env: env}
	w.user = env.NewUser("owner", 1_000_000_000)
	w.other = env.NewUser("other", 1_000_000_000)
	w.muted = env.NewUser("muted", 1_000_000_000)
	w.disabled = env.NewUser("disabled", 1_000_000_000)
	w.disabledJWT = w.disabled.Token
	w.admin(http.MethodPut, fmt.Sprintf("/api/users/%d", w.muted.ID), map[string]any{"status": "muted"}, http.StatusOK)
	w.admin(http.MethodPut, fmt.Sprintf("/api/users/%d", w.disabled.ID), map[string]any{"status": "disabled"}, http.StatusOK)

	w.cookie = w.signIn("owner", "password-owner")
	var key struct{ ID int64 }
	w.do(w.user.Token, http.MethodPost, "/api/user/api-keys", map[string]any{"name": "spare"}, http.StatusCreated, &key)
	w.spareKey = key.ID
	spare := w.login("owner", "password-owner")
	var sessions struct {
		Items []struct {
			ID      string
			Current bool
		}
	}
	w.do(spare, http.MethodGet, "/api/user/sessions", nil, http.StatusOK, &sessions)
	for _, s := range sessions.Items {
		if s.Current {
			w.spareSession = s.ID
		}
	}
	require.NotEmpty(t, w.spareSession)

	w.channel = env.Channel("matrix", models)
	var acct struct{ ID int64 }
	w.do(env.AdminToken, http.MethodPost, fmt.Sprintf("/api/channels/%d/accounts", w.channel),
		map[string]any{"credential": "sk-upstream-shared-0001"}, http.StatusCreated, nil)
	w.do(env.AdminToken, http.MethodPost, fmt.Sprintf("/api/channels/%d/accounts", w.channel),
		map[string]any{"credential": "sk-upstream-owned-0001", "owner_user_id": w.user.ID}, http.StatusCreated, &acct)
	w.account = acct.ID
	for _, m := range models {
		w.admin(http.MethodPost, "/api/models", map[string]any{"name": m, "input_price": 1, "output_price": 1}, http.StatusCreated)
	}
	return w
}

// admin makes an administrator's call and requires the status.
func (w *world) admin(method, path string, body any, status int) {
	w.t.Helper()
	w.do(w.env.AdminToken, method, path, body, status, nil)
}

// do makes a JSON call with a bearer token, requires the status and decodes the answer into out.
func (w *world) do(token, method, path string, body any, status int, out any) {
	w.t.Helper()
	c := call{Method: method, Path: path, Header: http.Header{}}
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(w.t, err)
		c.Body = b
		c.Header.Set("Content-Type", "application/json")
	}
	got, b := send(w.t, w.env.HTTP, w.env.URL, c, bearer(token))
	require.Equal(w.t, status, got, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(w.t, json.Unmarshal(b, out))
	}
}

// login signs in with a password and returns the JWT.
func (w *world) login(username, password string) string {
	w.t.Helper()
	var s struct{ Token string }
	w.do("", http.MethodPost, "/auth/password/login", map[string]any{"username": username, "password": password}, http.StatusOK, &s)
	return s.Token
}

// signIn signs in with a password and returns the session cookie's value.
func (w *world) signIn(username, password string) string {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.env.URL+"/auth/password/login",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)))
	require.NoError(w.t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := w.env.HTTP.Do(req)
	require.NoError(w.t, err)
	defer res.Body.Close()
	require.Equal(w.t, http.StatusOK, res.StatusCode)
	for _, c := range res.Cookies() {
		if c.Name == "poolgate_session" {
			return c.Value
		}
	}
	w.t.Fatal("no session cookie in the sign-in answer")
	return ""
}

// bearer adds Authorization: Bearer token (nothing for "").
func bearer(token string) func(*http.Request) {
	return func(r *http.Request) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	}
}

// sessionCookie adds the session cookie.
func sessionCookie(value string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "poolgate_session", Value: value}) }
}
