package user_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/user"
)

func TestAPIKeyRestrictions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	res, err := b.user.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "ci", Description: ptrTo("docs CI"),
		AllowedModels: &[]string{"gpt-4o-mini"}, QuotaLimit: ptrTo(int64(5000)), ExpiresAt: &exp,
		AllowedIps: &[]string{"203.0.113.7", "10.1.2.3/8", "2001:db8::/32"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	k := res.JSON201
	require.Equal(t, "docs CI", k.Description)
	require.Equal(t, []string{"gpt-4o-mini"}, *k.AllowedModels)
	require.EqualValues(t, 5000, *k.QuotaLimit)
	require.True(t, exp.Equal(*k.ExpiresAt))
	require.Equal(t, []string{"203.0.113.7/32", "10.0.0.0/8", "2001:db8::/32"}, *k.AllowedIps, "prefixes are normalised")

	// Fields left out keep their value; null clears a restriction.
	up, err := b.raw.ApiKeyUpdateWithBodyWithResponse(b.ctx, k.Id, "application/json",
		body(`{"name":"ci2","allowed_models":null,"expires_at":null}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, "ci2", up.JSON200.Name)
	require.Nil(t, up.JSON200.AllowedModels)
	require.Nil(t, up.JSON200.ExpiresAt)
	require.EqualValues(t, 5000, *up.JSON200.QuotaLimit)
	require.Len(t, *up.JSON200.AllowedIps, 3)
	require.Equal(t, "docs CI", up.JSON200.Description)

	up, err = b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{AllowedIps: &[]string{"::1"}, Description: ptrTo("")})
	require.NoError(t, err)
	require.Equal(t, []string{"::1/128"}, *up.JSON200.AllowedIps)
	require.Empty(t, up.JSON200.Description)

	list, err := b.user.ApiKeyListWithResponse(b.ctx)
	require.NoError(t, err)
	for _, item := range list.JSON200.Items {
		if item.Id == k.Id {
			require.Equal(t, []string{"::1/128"}, *item.AllowedIps)
		}
	}

	for _, bad := range []string{`{"name":"x","allowed_ips":["999.1.1.1"]}`, `{"name":"x","allowed_ips":["10.0.0.0/40"]}`,
		`{"name":"x","quota_limit":-1}`, `{"name":"x","allowed_models":[""]}`} {
		res, err := b.raw.ApiKeyCreateWithBodyWithResponse(b.ctx, "application/json", body(bad))
		require.NoError(t, err)
		requireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
	}
}

func ptrTo[T any](v T) *T { return &v }

func body(s string) *strings.Reader { return strings.NewReader(s) }
