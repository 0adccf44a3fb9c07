package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/apptest"
)

func (b *testBundle) users(t *testing.T, p *adminclient.UserListParams) adminclient.UserPage {
	t.Helper()
	res, err := b.admin.UserListWithResponse(b.ctx, p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return *res.JSON200
}

func names(p adminclient.UserPage) []string {
	out := make([]string, 0, len(p.Items))
	for _, u := range p.Items {
		out = append(out, u.Username)
	}
	return out
}

func TestUserList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, n := range []string{"alice", "bob", "carol", "malice"} {
		b.env.NewUser(n, 0)
	}

	all := b.users(t, nil)
	require.Equal(t, int64(5), all.Total)
	require.Equal(t, 1, all.Page)
	require.Equal(t, 20, all.PageSize)
	require.Equal(t, []string{apptest.AdminUsername, "alice", "bob", "carol", "malice"}, names(all))
	raw, err := b.admin.UserListWithResponse(b.ctx, nil)
	require.NoError(t, err)
	require.NotContains(t, string(raw.Body), "password")

	p2 := b.users(t, &adminclient.UserListParams{Page: ptr(2), PageSize: ptr(2)})
	require.Equal(t, int64(5), p2.Total)
	require.Equal(t, 2, p2.Page)
	require.Equal(t, 2, p2.PageSize)
	require.Equal(t, []string{"bob", "carol"}, names(p2))

	p4 := b.users(t, &adminclient.UserListParams{Page: ptr(4), PageSize: ptr(2)})
	require.Equal(t, int64(5), p4.Total)
	require.Empty(t, p4.Items)

	q := b.users(t, &adminclient.UserListParams{Q: ptr("ALIC")})
	require.Equal(t, int64(2), q.Total)
	require.Equal(t, []string{"alice", "malice"}, names(q))

	admins := b.users(t, &adminclient.UserListParams{Role: ptr(commonclient.UserRoleAdmin)})
	require.Equal(t, []string{apptest.AdminUsername}, names(admins))

	bob := all.Items[2]
	up, err := b.admin.UserUpdateWithResponse(b.ctx, bob.Id, adminclient.UserUpdate{Status: ptr(commonclient.Disabled)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))

	disabled := b.users(t, &adminclient.UserListParams{Status: ptr(commonclient.Disabled)})
	require.Equal(t, int64(1), disabled.Total)
	require.Equal(t, []string{"bob"}, names(disabled))

	both := b.users(t, &adminclient.UserListParams{Q: ptr("a"), Role: ptr(commonclient.UserRoleUser), Status: ptr(commonclient.Active), PageSize: ptr(1)})
	require.Equal(t, int64(3), both.Total, "alice, carol, malice")
	require.Equal(t, []string{"alice"}, names(both))

	for name, p := range map[string]*adminclient.UserListParams{
		"PageZero":     {Page: ptr(0)},
		"PageSizeHigh": {PageSize: ptr(201)},
		"BadRole":      {Role: ptr(commonclient.UserRole("root"))},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := b.raw.UserListWithResponse(b.ctx, p)
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
		})
	}
}

func TestUserUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.env.NewUser("alice", 0)

	get, err := b.admin.UserGetWithResponse(b.ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get.StatusCode(), string(get.Body))
	require.Equal(t, "alice", get.JSON200.Username)
	require.Equal(t, commonclient.UserRoleUser, get.JSON200.Role)

	update := func(t *testing.T, id int64, u adminclient.UserUpdate) *adminclient.UserUpdateResponse {
		t.Helper()
		res, err := b.admin.UserUpdateWithResponse(b.ctx, id, u)
		require.NoError(t, err)
		return res
	}

	res := update(t, alice.ID, adminclient.UserUpdate{Balance: ptr(int64(500))})
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, int64(500), res.JSON200.Balance)

	res = update(t, alice.ID, adminclient.UserUpdate{BalanceDelta: ptr(int64(250))})
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, int64(750), res.JSON200.Balance)

	res = update(t, alice.ID, adminclient.UserUpdate{BalanceDelta: ptr(int64(-1000))})
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, int64(-250), res.JSON200.Balance)
	require.Equal(t, int64(-250), b.env.Balance(alice.ID))

	res = update(t, alice.ID, adminclient.UserUpdate{Balance: ptr(int64(1)), BalanceDelta: ptr(int64(1))})
	apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "balance and balance_delta cannot be used together",
		res.StatusCode(), res.Body)
	require.Equal(t, int64(-250), b.env.Balance(alice.ID), "refused update changes nothing")

	// Disabling refuses the user's sessions and keys at once.
	res = update(t, alice.ID, adminclient.UserUpdate{Status: ptr(commonclient.Disabled)})
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, commonclient.Disabled, res.JSON200.Status)
	me, err := b.env.User(alice.Token).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, me.StatusCode(), "her sessions ended: %s", me.Body)
	me, err = b.env.User(alice.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, me.StatusCode(), string(me.Body))

	res = update(t, alice.ID, adminclient.UserUpdate{Status: ptr(commonclient.Active), Role: ptr(commonclient.UserRoleAdmin)})
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, commonclient.Active, res.JSON200.Status)
	require.Equal(t, commonclient.UserRoleAdmin, res.JSON200.Role)
	require.Equal(t, int64(-250), res.JSON200.Balance, "balance left out stays")
	list, err := b.env.AdminAs(alice.Key).ChannelListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), "a promoted user is an administrator")

	t.Run("Self", func(t *testing.T) {
		adminID := b.users(t, &adminclient.UserListParams{Q: ptr(apptest.AdminUsername), Role: ptr(commonclient.UserRoleAdmin)}).Items[0].Id
		for name, u := range map[string]adminclient.UserUpdate{
			"Demote":  {Role: ptr(commonclient.UserRoleUser)},
			"Disable": {Status: ptr(commonclient.Disabled)},
			"Both":    {Role: ptr(commonclient.UserRoleUser), Status: ptr(commonclient.Disabled)},
		} {
			t.Run(name, func(t *testing.T) {
				res := update(t, adminID, u)
				apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "you cannot disable or demote yourself",
					res.StatusCode(), res.Body)
			})
		}
		// What keeps the administrator an active administrator is allowed.
		res := update(t, adminID, adminclient.UserUpdate{Role: ptr(commonclient.UserRoleAdmin), Status: ptr(commonclient.Active),
			BalanceDelta: ptr(int64(10))})
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		require.Equal(t, int64(10), res.JSON200.Balance)
	})

	t.Run("NotFound", func(t *testing.T) {
		get, err := b.admin.UserGetWithResponse(b.ctx, 999999)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "user not found", get.StatusCode(), get.Body)

		res := update(t, 999999, adminclient.UserUpdate{BalanceDelta: ptr(int64(1))})
		apptest.RequireError(t, http.StatusNotFound, "not_found", "user not found", res.StatusCode(), res.Body)
	})

	t.Run("BadInput", func(t *testing.T) {
		for name, in := range map[string]string{
			"Empty":        `{}`,
			"BadRole":      `{"role":"root"}`,
			"UnknownField": `{"passwd":"x"}`,
			"WrongType":    `{"balance":"100"}`,
		} {
			t.Run(name, func(t *testing.T) {
				res, err := b.raw.UserUpdateWithBodyWithResponse(b.ctx, alice.ID, jsonType, body(in))
				require.NoError(t, err)
				apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
			})
		}
	})

	// Another administrator may demote this one.
	adminID := b.users(t, &adminclient.UserListParams{Role: ptr(commonclient.UserRoleAdmin), Q: ptr(apptest.AdminUsername)}).Items[0].Id
	dem, err := b.env.AdminAs(alice.Key).UserUpdateWithResponse(b.ctx, adminID, adminclient.UserUpdate{Role: ptr(commonclient.UserRoleUser)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, dem.StatusCode(), string(dem.Body))
	require.Equal(t, commonclient.UserRoleUser, dem.JSON200.Role)
}
