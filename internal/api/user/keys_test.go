package user_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
)

func TestAPIKeyRestrictions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	res, err := b.user.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "ci", Description: ptrTo("docs CI"),
		AllowedModels: nullable.NewNullableWithValue([]string{"gpt-4o-mini"}), QuotaLimit: nullable.NewNullableWithValue(int64(5000)),
		ExpiresAt: nullable.NewNullableWithValue(exp), AllowedIps: nullable.NewNullableWithValue([]string{"203.0.113.7", "10.1.2.3/8", "2001:db8::/32"})})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	k := res.JSON201
	require.Equal(t, "docs CI", k.Description)
	require.Equal(t, []string{"gpt-4o-mini"}, k.AllowedModels.MustGet())
	require.EqualValues(t, 5000, k.QuotaLimit.MustGet())
	require.True(t, exp.Equal(k.ExpiresAt.MustGet()))
	require.Equal(t, []string{"203.0.113.7/32", "10.0.0.0/8", "2001:db8::/32"}, k.AllowedIps.MustGet(), "prefixes are normalised")

	// Fields left out keep their value; null clears a restriction.
	up, err := b.raw.ApiKeyUpdateWithBodyWithResponse(b.ctx, k.Id, "application/json",
		body(`{"name":"ci2","allowed_models":null,"expires_at":null}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, "ci2", up.JSON200.Name)
	require.True(t, up.JSON200.AllowedModels.IsNull())
	require.True(t, up.JSON200.ExpiresAt.IsNull())
	require.EqualValues(t, 5000, up.JSON200.QuotaLimit.MustGet())
	require.Len(t, up.JSON200.AllowedIps.MustGet(), 3)
	require.Equal(t, "docs CI", up.JSON200.Description)

	up, err = b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{AllowedIps: nullable.NewNullableWithValue([]string{"::1"}), Description: ptrTo("")})
	require.NoError(t, err)
	require.Equal(t, []string{"::1/128"}, up.JSON200.AllowedIps.MustGet())
	require.Empty(t, up.JSON200.Description)

	list, err := b.user.ApiKeyListWithResponse(b.ctx)
	require.NoError(t, err)
	for _, item := range list.JSON200.Items {
		if item.Id == k.Id {
			require.Equal(t, []string{"::1/128"}, item.AllowedIps.MustGet())
		}
	}

	for _, bad := range []string{`{"name":"x","allowed_ips":["999.1.1.1"]}`, `{"name":"x","allowed_ips":["10.0.0.0/40"]}`,
		`{"name":"x","quota_limit":-1}`, `{"name":"x","allowed_models":[""]}`} {
		res, err := b.raw.ApiKeyCreateWithBodyWithResponse(b.ctx, "application/json", body(bad))
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
	}
}

// TestAPIKeyUpdateAbsentNullValue drives a key update through the generated client for each
// restriction: a member left out keeps the stored value, null clears it, a value sets it.
func TestAPIKeyUpdateAbsentNullValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	res, err := b.user.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "patch",
		AllowedModels: nullable.NewNullableWithValue([]string{"gpt-4o-mini"}), QuotaLimit: nullable.NewNullableWithValue(int64(100)),
		ExpiresAt: nullable.NewNullableWithValue(exp), AllowedIps: nullable.NewNullableWithValue([]string{"203.0.113.7"})})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	id := res.JSON201.Id
	update := func(req userclient.ApiKeyUpdateRequest) *userclient.ApiKey {
		t.Helper()
		up, err := b.user.ApiKeyUpdateWithResponse(b.ctx, id, req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
		return up.JSON200
	}

	// Absent: a rename leaves every restriction as it was.
	k := update(userclient.ApiKeyUpdateRequest{Name: ptrTo("renamed")})
	require.Equal(t, []string{"gpt-4o-mini"}, k.AllowedModels.MustGet())
	require.EqualValues(t, 100, k.QuotaLimit.MustGet())
	require.True(t, exp.Equal(k.ExpiresAt.MustGet()))
	require.Equal(t, []string{"203.0.113.7/32"}, k.AllowedIps.MustGet())

	// A value sets each one.
	later := exp.Add(24 * time.Hour)
	k = update(userclient.ApiKeyUpdateRequest{AllowedModels: nullable.NewNullableWithValue([]string{"gpt-4o"}),
		QuotaLimit: nullable.NewNullableWithValue(int64(7)), ExpiresAt: nullable.NewNullableWithValue(later),
		AllowedIps: nullable.NewNullableWithValue([]string{"10.0.0.0/8"})})
	require.Equal(t, []string{"gpt-4o"}, k.AllowedModels.MustGet())
	require.EqualValues(t, 7, k.QuotaLimit.MustGet())
	require.True(t, later.Equal(k.ExpiresAt.MustGet()))
	require.Equal(t, []string{"10.0.0.0/8"}, k.AllowedIps.MustGet())

	// Null clears each one.
	k = update(userclient.ApiKeyUpdateRequest{AllowedModels: nullable.NewNullNullable[[]string](),
		QuotaLimit: nullable.NewNullNullable[int64](), ExpiresAt: nullable.NewNullNullable[time.Time](),
		AllowedIps: nullable.NewNullNullable[[]string]()})
	require.True(t, k.AllowedModels.IsNull())
	require.True(t, k.QuotaLimit.IsNull())
	require.True(t, k.ExpiresAt.IsNull())
	require.True(t, k.AllowedIps.IsNull())

	// And stay cleared when left out again.
	k = update(userclient.ApiKeyUpdateRequest{Name: ptrTo("again")})
	require.True(t, k.AllowedModels.IsNull())
	require.True(t, k.QuotaLimit.IsNull())
	require.True(t, k.ExpiresAt.IsNull())
	require.True(t, k.AllowedIps.IsNull())
}

func ptrTo[T any](v T) *T { return &v }

func body(s string) *strings.Reader { return strings.NewReader(s) }
