package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

func TestAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.channel(t, "main")
	other := b.channel(t, "other")

	const secret = "sk-proj-SECRET-0000000000003xYz"
	res, err := b.admin.AccountCreateWithResponse(b.ctx, ch.Id, adminclient.AccountCreate{Name: ptr("team-key-1"), Credential: secret})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.NotContains(t, string(res.Body), secret)
	require.NotContains(t, string(res.Body), "SECRET")
	a := *res.JSON201
	require.Positive(t, a.Id)
	require.Equal(t, ch.Id, a.ChannelId)
	require.Equal(t, "team-key-1", a.Name)
	require.True(t, a.HasCredential)
	require.Equal(t, "****3xYz", a.CredentialTail)
	require.Equal(t, adminclient.AccountStatusActive, a.Status)
	require.Equal(t, 1, a.Weight)
	require.Zero(t, a.SuccessCount)
	require.Zero(t, a.FailureCount)
	require.Nil(t, wire.Ptr(a.LastUsedAt))

	// The credential is stored sealed, and opens to what was given.
	var enc []byte
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, "SELECT credential_enc FROM accounts WHERE id = $1", a.Id).Scan(&enc))
	require.NotContains(t, string(enc), secret)
	opened, err := b.env.App.Box.Open(enc)
	require.NoError(t, err)
	require.Equal(t, secret, opened)

	res, err = b.admin.AccountCreateWithResponse(b.ctx, ch.Id, adminclient.AccountCreate{
		Credential: "sk-second-credential-9999", Weight: ptr(5), Status: ptr(adminclient.ActiveStatusDisabled)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	a2 := *res.JSON201
	require.Empty(t, a2.Name)
	require.Equal(t, 5, a2.Weight)
	require.Equal(t, adminclient.AccountStatusDisabled, a2.Status)

	list, err := b.admin.AccountListWithResponse(b.ctx, ch.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.NotContains(t, string(list.Body), secret)
	require.NotContains(t, string(list.Body), "sk-second-credential")
	require.Equal(t, []adminclient.Account{a, a2}, list.JSON200.Items)

	get, err := b.admin.ChannelGetWithResponse(b.ctx, ch.Id)
	require.NoError(t, err)
	require.Equal(t, 2, get.JSON200.AccountCount)

	empty, err := b.admin.AccountListWithResponse(b.ctx, other.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, empty.StatusCode(), string(empty.Body))
	require.Empty(t, empty.JSON200.Items)

	// A new credential replaces the stored one and is never echoed either.
	const rotated = "sk-proj-ROTATED-000000000004aBc"
	up, err := b.admin.AccountUpdateWithResponse(b.ctx, ch.Id, a.Id, adminclient.AccountUpdate{Credential: ptr(rotated)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.NotContains(t, string(up.Body), rotated)
	require.NotContains(t, string(up.Body), "ROTATED")
	require.True(t, up.JSON200.HasCredential)
	require.Equal(t, "****4aBc", up.JSON200.CredentialTail)
	require.Equal(t, "team-key-1", up.JSON200.Name, "fields left out stay")
	require.Equal(t, adminclient.AccountStatusActive, up.JSON200.Status)
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, "SELECT credential_enc FROM accounts WHERE id = $1", a.Id).Scan(&enc))
	opened, err = b.env.App.Box.Open(enc)
	require.NoError(t, err)
	require.Equal(t, rotated, opened)

	up, err = b.admin.AccountUpdateWithResponse(b.ctx, ch.Id, a.Id, adminclient.AccountUpdate{
		Name: ptr("renamed"), Weight: ptr(7), Status: ptr(adminclient.ActiveStatusDisabled)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, "renamed", up.JSON200.Name)
	require.Equal(t, 7, up.JSON200.Weight)
	require.Equal(t, adminclient.AccountStatusDisabled, up.JSON200.Status)
	require.Equal(t, "****4aBc", up.JSON200.CredentialTail, "credential kept")

	t.Run("OtherChannel", func(t *testing.T) {
		up, err := b.admin.AccountUpdateWithResponse(b.ctx, other.Id, a.Id, adminclient.AccountUpdate{Status: ptr(adminclient.ActiveStatusActive)})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "account not found", up.StatusCode(), up.Body)

		del, err := b.admin.AccountDeleteWithResponse(b.ctx, other.Id, a.Id)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "account not found", del.StatusCode(), del.Body)

		list, err := b.admin.AccountListWithResponse(b.ctx, ch.Id)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Items, 2, "the account is untouched")
		require.Equal(t, adminclient.AccountStatusDisabled, list.JSON200.Items[0].Status)
	})

	t.Run("UnknownChannel", func(t *testing.T) {
		const unknown = 999999
		list, err := b.admin.AccountListWithResponse(b.ctx, unknown)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", list.StatusCode(), list.Body)

		cr, err := b.admin.AccountCreateWithResponse(b.ctx, unknown, adminclient.AccountCreate{Credential: "sk-whatever-123456"})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", cr.StatusCode(), cr.Body)

		up, err := b.admin.AccountUpdateWithResponse(b.ctx, unknown, a.Id, adminclient.AccountUpdate{Weight: ptr(1)})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", up.StatusCode(), up.Body)

		del, err := b.admin.AccountDeleteWithResponse(b.ctx, unknown, a.Id)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", del.StatusCode(), del.Body)
	})

	t.Run("BadInput", func(t *testing.T) {
		for name, in := range map[string]string{
			"ShortCredential":   `{"credential":"short"}`,
			"MissingCredential": `{"name":"x"}`,
			"UnknownField":      `{"credential":"sk-long-enough-1234","api_key":"x"}`,
			"WrongType":         `{"credential":12345678901}`,
		} {
			t.Run(name, func(t *testing.T) {
				res, err := b.raw.AccountCreateWithBodyWithResponse(b.ctx, ch.Id, jsonType, body(in))
				require.NoError(t, err)
				apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
			})
		}
		res, err := b.raw.AccountUpdateWithBodyWithResponse(b.ctx, ch.Id, a.Id, jsonType, body(`{}`))
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
	})

	del, err := b.admin.AccountDeleteWithResponse(b.ctx, ch.Id, a.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))

	del, err = b.admin.AccountDeleteWithResponse(b.ctx, ch.Id, a.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "account not found", del.StatusCode(), del.Body)

	list, err = b.admin.AccountListWithResponse(b.ctx, ch.Id)
	require.NoError(t, err)
	require.Equal(t, []adminclient.Account{a2}, list.JSON200.Items)

	// Deleting the channel deletes its accounts.
	chDel, err := b.admin.ChannelDeleteWithResponse(b.ctx, ch.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, chDel.StatusCode(), string(chDel.Body))
	var n int
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, "SELECT count(*) FROM accounts WHERE channel_id = $1", ch.Id).Scan(&n))
	require.Zero(t, n)
}
