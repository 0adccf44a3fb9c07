package user_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// TestPasskeys registers a passkey with a software authenticator (ES256, none attestation), signs
// in with it, and refuses a replayed assertion, a cloned authenticator and a removed passkey.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	auth := b.env.Auth()
	authr := testsvc.NewAuthenticator("localhost", b.env.PublicURL)

	opts, err := b.user.PasskeyRegisterOptionsWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, opts.StatusCode(), string(opts.Body))
	var creation struct {
		PublicKey struct {
			RP struct {
				ID string `json:"id"`
			} `json:"rp"`
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation string `json:"attestation"`
		} `json:"publicKey"`
	}
	require.NoError(t, json.Unmarshal(opts.Body, &creation))
	require.Equal(t, "localhost", creation.PublicKey.RP.ID)
	require.Equal(t, "required", creation.PublicKey.AuthenticatorSelection.ResidentKey)
	require.Equal(t, "preferred", creation.PublicKey.AuthenticatorSelection.UserVerification)
	require.Equal(t, "none", creation.PublicKey.Attestation)

	cred := authr.Register(t, opts.Body)
	name := "laptop"
	fin, err := b.user.PasskeyRegisterFinishWithResponse(b.ctx, &userclient.PasskeyRegisterFinishParams{Name: &name}, cred)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, fin.StatusCode(), string(fin.Body))
	require.Equal(t, "laptop", fin.JSON201.Name)
	again, err := b.user.PasskeyRegisterFinishWithResponse(b.ctx, nil, cred)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "passkey_invalid", "", again.StatusCode(), again.Body) // the challenge is spent
	list, err := b.user.PasskeyListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Nil(t, wire.Ptr(list.JSON200.Items[0].LastUsedAt))

	login := func(a *testsvc.Authenticator) (int, []byte, *http.Response) {
		t.Helper()
		o, err := auth.PasskeyLoginOptionsWithResponse(b.ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, o.StatusCode(), string(o.Body))
		assertion := a.Assert(t, o.Body)
		res, err := auth.PasskeyLoginWithResponse(b.ctx, assertion)
		require.NoError(t, err)
		return res.StatusCode(), res.Body, res.HTTPResponse
	}
	clone := authr.Clone()
	status, body, res := login(authr)
	require.Equal(t, http.StatusOK, status, string(body))
	var signed struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(body, &signed))
	me, err := b.env.User(signed.Token).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", me.JSON200.Username)
	require.NotEmpty(t, res.Header.Get("Set-Cookie"))
	sessions, err := b.env.User(signed.Token).SessionListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, "passkey", sessions.JSON200.Items[0].Method)

	// The same assertion again: its challenge is spent.
	o, err := auth.PasskeyLoginOptionsWithResponse(b.ctx)
	require.NoError(t, err)
	assertion := authr.Assert(t, o.Body)
	ok, err := auth.PasskeyLoginWithResponse(b.ctx, assertion)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ok.StatusCode(), string(ok.Body))
	replay, err := auth.PasskeyLoginWithResponse(b.ctx, assertion)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "passkey_invalid", "", replay.StatusCode(), replay.Body)

	// A clone made before these sign-ins counts from behind: refused; the original goes on.
	status, body, _ = login(clone)
	apptest.RequireError(t, http.StatusUnauthorized, "passkey_invalid", "", status, body)
	status, body, _ = login(authr)
	require.Equal(t, http.StatusOK, status, string(body))

	// An authenticator the site does not know.
	stranger := testsvc.NewAuthenticator("localhost", b.env.PublicURL)
	so, err := b.env.User(b.alice.Token).PasskeyRegisterOptionsWithResponse(b.ctx)
	require.NoError(t, err)
	stranger.Register(t, so.Body) // never finished
	status, body, _ = login(stranger)
	apptest.RequireError(t, http.StatusUnauthorized, "passkey_invalid", "", status, body)

	// Managing passkeys needs a session, not an API key.
	byKey, err := b.env.User(b.alice.Key).PasskeyRegisterOptionsWithResponse(b.ctx)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "session_required", "", byKey.StatusCode(), byKey.Body)

	// Removed, the passkey signs nobody in.
	del, err := b.user.PasskeyDeleteWithResponse(b.ctx, fin.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	status, body, _ = login(authr)
	apptest.RequireError(t, http.StatusUnauthorized, "passkey_invalid", "", status, body)
	del, err = b.user.PasskeyDeleteWithResponse(b.ctx, fin.JSON201.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", del.StatusCode(), del.Body)
}
