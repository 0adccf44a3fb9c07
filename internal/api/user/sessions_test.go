package user_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

func (b *testBundle) signIn(t *testing.T, username, password, agent string) string {
	t.Helper()
	return b.env.SignInAs(username, password, agent).JWT
}

func (b *testBundle) meStatus(t *testing.T, token string) int {
	t.Helper()
	res, err := b.env.User(token).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	return res.StatusCode()
}

// TestSessions lists the user's sessions and ends one: its JWT stops at once; others and other
// users' sessions are untouched.
func TestSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	phone := b.signIn(t, "alice", "password-alice", "phone/1.0")
	laptop := b.signIn(t, "alice", "password-alice", "laptop/2.0")
	list, err := b.env.User(laptop).SessionListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	items := list.JSON200.Items
	require.Len(t, items, 3, "registration, phone and laptop")
	require.Equal(t, "laptop/2.0", items[0].UserAgent, "newest first")
	require.True(t, items[0].Current)
	require.False(t, items[1].Current)
	require.Equal(t, "phone/1.0", items[1].UserAgent)
	require.Equal(t, "password", items[1].Method)
	require.Equal(t, "127.0.0.1", items[1].Ip)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), items[1].ExpiresAt, time.Minute)
	require.NotContains(t, string(list.Body), phone, "no secret in the list")

	del, err := b.env.User(laptop).SessionDeleteWithResponse(b.ctx, items[1].Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	require.Equal(t, http.StatusUnauthorized, b.meStatus(t, phone))
	require.Equal(t, http.StatusOK, b.meStatus(t, laptop))
	del, err = b.env.User(laptop).SessionDeleteWithResponse(b.ctx, items[1].Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", del.StatusCode(), del.Body)

	// Bob cannot end alice's sessions.
	bob := b.env.NewUser("bob", 0)
	del, err = b.env.User(bob.Token).SessionDeleteWithResponse(b.ctx, items[0].Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", del.StatusCode(), del.Body)
	require.Equal(t, http.StatusOK, b.meStatus(t, laptop))
}

// TestPasswordChange: the old password (or an e-mail code) proves the user; the other sessions
// end, the current one stays.
func TestPasswordChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.signIn(t, "alice", "password-alice", "other")
	current := b.signIn(t, "alice", "password-alice", "current")
	u := b.env.User(current)
	m, err := u.PasswordMethodGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, m.StatusCode(), string(m.Body))
	require.True(t, m.JSON200.HasPassword)
	require.Nil(t, wire.Ptr(m.JSON200.Email))
	require.Equal(t, []userclient.PasswordMethodMethods{userclient.OldPassword}, m.JSON200.Methods)

	wrong := "not-the-password"
	res, err := u.PasswordChangeWithResponse(b.ctx, userclient.PasswordChangeRequest{OldPassword: &wrong, NewPassword: "alice-new-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "password_incorrect", "", res.StatusCode(), res.Body)
	old := "password-alice"
	res, err = u.PasswordChangeWithResponse(b.ctx, userclient.PasswordChangeRequest{OldPassword: &old, NewPassword: "alice-new-password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
	require.Equal(t, http.StatusOK, b.meStatus(t, current))
	require.Equal(t, http.StatusUnauthorized, b.meStatus(t, other))
	require.Equal(t, http.StatusUnauthorized, b.meStatus(t, b.alice.Token), "the registration's session too")
	require.Equal(t, http.StatusOK, b.meStatus(t, b.alice.Key), "API keys are not sessions")
	b.signIn(t, "alice", "alice-new-password", "again")

	// With an API key: refused.
	res, err = b.env.User(b.alice.Key).PasswordChangeWithResponse(b.ctx, userclient.PasswordChangeRequest{OldPassword: &old, NewPassword: "x-password-123"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "session_required", "", res.StatusCode(), res.Body)
	// Without an address, no code can be mailed.
	code, err := u.PasswordCodeSendWithResponse(b.ctx)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "email_missing", "", code.StatusCode(), code.Body)
}

// TestSessionsAcrossInstances: a session ended on one instance stops on another at once, and
// disabling the user on one stops their keys and sessions on the other.
func TestSessionsAcrossInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := apptest.New(t, apptest.Sharing(b.env))
	tok := b.signIn(t, "alice", "password-alice", "x")
	res, err := other.User(tok).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode())
	list, err := b.env.User(tok).SessionListWithResponse(b.ctx)
	require.NoError(t, err)
	del, err := b.env.User(b.alice.Token).SessionDeleteWithResponse(b.ctx, list.JSON200.Items[0].Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	res, err = other.User(tok).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode())
}
