package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
)

// meStatus is the status of GET /api/user/me on env with a bearer token, or a cookie.
func meStatus(t *testing.T, env *apptest.Env, bearer, cookie string) int {
	t.Helper()
	edit := apptest.Bearer(bearer)
	if cookie != "" {
		edit = func(_ context.Context, r *http.Request) error {
			r.AddCookie(&http.Cookie{Name: "poolgate_session", Value: cookie})
			return nil
		}
	}
	res, err := env.User("").MeGetWithResponse(context.Background(), edit)
	require.NoError(t, err)
	return res.StatusCode()
}

// TestUserSessions: an administrator lists a user's sessions (no secret in the list), ends one —
// its JWT and cookie are refused at once, on another instance too — then ends all the others;
// unknown users and sessions answer 404; API keys keep working.
func TestUserSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := apptest.New(t, apptest.Sharing(b.env))
	u := b.env.NewUser("dora", 0)
	phone := b.env.SignInAs("dora", "password-dora", "phone/1.0")
	laptop := b.env.SignInAs("dora", "password-dora", "laptop/2.0")
	require.Equal(t, http.StatusOK, meStatus(t, other, phone.JWT, ""))

	list, err := b.admin.UserSessionListWithResponse(b.ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	items := list.JSON200.Items
	require.Len(t, items, 3, "the fixture's sign-in, phone and laptop")
	require.Equal(t, "laptop/2.0", items[0].UserAgent, "newest first")
	require.Equal(t, "phone/1.0", items[1].UserAgent)
	require.Equal(t, "password", items[1].Method)
	require.Equal(t, "127.0.0.1", items[1].Ip)
	for _, s := range items {
		require.False(t, s.Current, "not the administrator's session")
	}
	for _, secret := range []string{phone.JWT, phone.Cookie, laptop.JWT, laptop.Cookie, u.Token} {
		require.NotContains(t, string(list.Body), secret, "no secret in the list")
	}

	del, err := b.admin.UserSessionDeleteWithResponse(b.ctx, u.ID, items[1].Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	require.Equal(t, http.StatusUnauthorized, meStatus(t, b.env, phone.JWT, ""), "the ended session's JWT")
	require.Equal(t, http.StatusUnauthorized, meStatus(t, b.env, "", phone.Cookie), "and its cookie")
	require.Equal(t, http.StatusUnauthorized, meStatus(t, other, phone.JWT, ""), "on the other instance too")
	require.Equal(t, http.StatusOK, meStatus(t, other, laptop.JWT, ""), "the others live on")
	require.Equal(t, http.StatusOK, meStatus(t, b.env, "", laptop.Cookie))

	// Gone, unknown, or another user's session: 404; an unknown user: 404.
	carl := b.env.NewUser("carl", 0)
	for name, c := range map[string]struct {
		user    int64
		session string
	}{"Ended": {u.ID, items[1].Id}, "Unknown": {u.ID, "nosuchsession"}, "OtherUsers": {carl.ID, items[0].Id}, "NoUser": {999999, items[0].Id}} {
		res, err := b.admin.UserSessionDeleteWithResponse(b.ctx, c.user, c.session)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "", res.StatusCode(), res.Body)
	}
	require.Equal(t, http.StatusOK, meStatus(t, b.env, laptop.JWT, ""), "a refused call ended nothing")
	res, err := b.admin.UserSessionListWithResponse(b.ctx, 999999)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "user not found", res.StatusCode(), res.Body)
	all, err := b.admin.UserSessionDeleteAllWithResponse(b.ctx, 999999)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "user not found", all.StatusCode(), all.Body)

	// Ending all: every session stops, on both instances; the API key still works.
	all, err = b.admin.UserSessionDeleteAllWithResponse(b.ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, all.StatusCode(), string(all.Body))
	for _, env := range []*apptest.Env{b.env, other} {
		require.Equal(t, http.StatusUnauthorized, meStatus(t, env, laptop.JWT, ""))
		require.Equal(t, http.StatusUnauthorized, meStatus(t, env, "", laptop.Cookie))
		require.Equal(t, http.StatusUnauthorized, meStatus(t, env, u.Token, ""))
		require.Equal(t, http.StatusOK, meStatus(t, env, u.Key, ""), "API keys are not sessions")
	}
	list, err = b.admin.UserSessionListWithResponse(b.ctx, u.ID)
	require.NoError(t, err)
	require.Empty(t, list.JSON200.Items)
	require.Equal(t, http.StatusOK, meStatus(t, b.env, carl.Token, ""), "another user's sessions untouched")
}

// TestUserSessionsOwn: an administrator ending all their own sessions keeps the one making the
// call, which the list marks current.
func TestUserSessionsOwn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	second := b.env.SignInAs(apptest.AdminUsername, apptest.AdminPassword, "second")
	me, err := b.env.User(b.env.AdminToken).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	list, err := b.admin.UserSessionListWithResponse(b.ctx, me.JSON200.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Len(t, list.JSON200.Items, 2)
	require.True(t, list.JSON200.Items[1].Current, "the first sign-in makes this call")
	require.False(t, list.JSON200.Items[0].Current)
	all, err := b.admin.UserSessionDeleteAllWithResponse(b.ctx, me.JSON200.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, all.StatusCode(), string(all.Body))
	require.Equal(t, http.StatusUnauthorized, meStatus(t, b.env, second.JWT, ""))
	require.Equal(t, http.StatusOK, meStatus(t, b.env, b.env.AdminToken, ""), "the caller's session kept")
}
