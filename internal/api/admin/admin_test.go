package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/apptest"
)

type testBundle struct {
	env *apptest.Env
	// admin is the administrator's client; every request and response is checked against the spec.
	admin *adminclient.ClientWithResponses
	// raw is the administrator's client for requests that break the spec on purpose (responses
	// are still checked).
	raw *adminclient.ClientWithResponses
	ctx context.Context
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	env := apptest.New(t)
	raw, err := adminclient.NewClientWithResponses(env.URL, adminclient.WithHTTPClient(env.RawHTTP),
		adminclient.WithRequestEditorFn(apptest.Bearer(env.AdminToken)))
	require.NoError(t, err)
	return &testBundle{env: env, admin: env.Admin(), raw: raw, ctx: context.Background()}
}

func body(s string) *strings.Reader { return strings.NewReader(s) }

const jsonType = "application/json"

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("NoCredentials", func(t *testing.T) {
		t.Parallel()
		anon := b.env.AdminAs("")
		res, err := anon.ChannelListWithResponse(b.ctx)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", res.StatusCode(), res.Body)

		set, err := anon.SettingsGetWithResponse(b.ctx)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", set.StatusCode(), set.Body)
	})

	t.Run("InvalidToken", func(t *testing.T) {
		t.Parallel()
		res, err := b.env.AdminAs("not-a-jwt").UserListWithResponse(b.ctx, nil)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", res.StatusCode(), res.Body)
	})

	t.Run("NonAdmin", func(t *testing.T) {
		t.Parallel()
		u := b.env.NewUser("mallory", 0)
		for _, token := range []string{u.Token, u.Key} {
			c := b.env.AdminAs(token)
			res, err := c.ChannelListWithResponse(b.ctx)
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusForbidden, "forbidden", "", res.StatusCode(), res.Body)

			up, err := c.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{Role: ptr(commonclient.UserRoleAdmin)})
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusForbidden, "forbidden", "", up.StatusCode(), up.Body)
		}
	})
}

// quotaDefaults is s with the shared quota and payment settings of a fresh install.
func quotaDefaults(s adminclient.Settings) adminclient.Settings {
	s.SharedQuotaBase, s.SharedQuotaBonusPerAccount = 100, map[string]int64{"*": 100}
	s.SharedQuotaRecoveryHours, s.SharedQuotaUnit = 5, adminclient.SettingsSharedQuotaUnitCalls
	s.PaymentMinAmount, s.PaymentOrderExpiryMinutes = "1.00", 30
	return s
}

func TestSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res, err := b.admin.SettingsGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, quotaDefaults(adminclient.Settings{SiteName: "Poolgate", RegistrationEnabled: true, QuotaPerUnit: 500000, SessionTtlHours: 24,
		ContributedAccountChannels: map[string]int64{}}), *res.JSON200)

	up, err := b.admin.SettingsUpdateWithResponse(b.ctx, adminclient.SettingsUpdate{AllowUnpricedModels: ptr(true)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, quotaDefaults(adminclient.Settings{SiteName: "Poolgate", RegistrationEnabled: true, AllowUnpricedModels: true,
		QuotaPerUnit: 500000, SessionTtlHours: 24, ContributedAccountChannels: map[string]int64{}}), *up.JSON200)

	up, err = b.admin.SettingsUpdateWithResponse(b.ctx, adminclient.SettingsUpdate{
		SiteName: ptr("Pool"), RegistrationEnabled: ptr(false), NewUserBalance: ptr(int64(5000)), QuotaPerUnit: ptr(int64(7_000_000))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	want := quotaDefaults(adminclient.Settings{SiteName: "Pool", RegistrationEnabled: false, AllowUnpricedModels: true, NewUserBalance: 5000,
		QuotaPerUnit: 7_000_000, SessionTtlHours: 24, ContributedAccountChannels: map[string]int64{}})
	require.Equal(t, want, *up.JSON200)

	res, err = b.admin.SettingsGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, want, *res.JSON200)

	for name, in := range map[string]string{
		"Empty":        `{}`,
		"UnknownField": `{"site_name":"x","colour":"blue"}`,
		"WrongType":    `{"registration_enabled":"yes"}`,
		"Negative":     `{"new_user_balance":-1}`,
		"ZeroRate":     `{"quota_per_unit":0}`,
	} {
		t.Run(name, func(t *testing.T) {
			bad, err := b.raw.SettingsUpdateWithBodyWithResponse(b.ctx, jsonType, body(in))
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", bad.StatusCode(), bad.Body)
		})
	}

	res, err = b.admin.SettingsGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, want, *res.JSON200, "refused updates change nothing")
}

func ptr[T any](v T) *T { return &v }
