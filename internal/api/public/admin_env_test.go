package public_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/auth"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
)

// TestAdminFromEnvironment: ADMIN_API_LOGIN_INIT_KEY creates the administrator `admin` at start
// when none exists (seed 000); setup is then complete, and a later start with another key
// changes nothing.
func TestAdminFromEnvironment(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithAdminFromEnvironment()) // signs in as admin with the key
	ctx := context.Background()
	pub := env.Public()
	st, err := pub.SetupStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.False(t, st.JSON200.NeedsSetup)
	res, err := pub.SetupCreateWithResponse(ctx, commonclient.Credentials{Username: "root", Password: "root-password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, res.StatusCode(), string(res.Body))
	me, err := env.User(env.AdminToken).MeGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, "admin", me.JSON200.Username)
	require.Equal(t, commonclient.UserRoleAdmin, me.JSON200.Role)

	again := apptest.New(t, apptest.Sharing(env), apptest.WithConfig(func(c *config.Config) { c.AdminLoginInitKey = "another-key-123" }))
	bad, err := again.Auth().PasswordLoginWithResponse(ctx, authclient.LoginRequest{Username: "admin", Password: "another-key-123"})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode(), "an administrator exists: the key is ignored")
}
