package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
)

// TestSeedLimitSettings: seed 000's flash/think/pro window and limit settings are per-user limit
// rules on the models whose name contains the word; a limit needs a window; 0 turns it off.
func TestSeedLimitSettings(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	put := func(u adminclient.SettingsUpdate) (int, *adminclient.Settings) {
		res, err := env.Admin().SettingsUpdateWithResponse(ctx, u)
		require.NoError(t, err)
		return res.StatusCode(), res.JSON200
	}
	status, s := put(adminclient.SettingsUpdate{FlashWindow: ptr("3h"), FlashLimit: ptr(int64(60)), ProWindow: ptr("1d"),
		ProLimit: ptr(int64(20))})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "3h", s.FlashWindow)
	require.Equal(t, int64(60), s.FlashLimit)
	require.Equal(t, "1d", s.ProWindow)
	require.Empty(t, s.ThinkWindow)
	list, err := env.Admin().LimitListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 2)
	models := map[string]adminclient.LimitRule{}
	for _, r := range list.JSON200.Items {
		models[r.Model] = r
	}
	require.Equal(t, "3h", models["*flash*"].Window)
	require.Equal(t, int64(60), models["*flash*"].Requests.MustGet())
	require.Equal(t, adminclient.LimitRuleScopeUser, models["*flash*"].Scope)

	status, _ = put(adminclient.SettingsUpdate{ThinkLimit: ptr(int64(5))}) // no window
	require.Equal(t, http.StatusBadRequest, status)
	status, _ = put(adminclient.SettingsUpdate{ThinkWindow: ptr("0s"), ThinkLimit: ptr(int64(5))})
	require.Equal(t, http.StatusBadRequest, status)
	status, s = put(adminclient.SettingsUpdate{FlashLimit: ptr(int64(0))})
	require.Equal(t, http.StatusOK, status)
	require.Zero(t, s.FlashLimit)
	require.Empty(t, s.FlashWindow)
	got, err := env.Admin().SettingsGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(20), got.JSON200.ProLimit)
	list, err = env.Admin().LimitListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
}
