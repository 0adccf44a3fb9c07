package public_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

// TestLoginTokenCDK replays seed 000's own request, GET /logintoken?access_token=<CDK>, on a fresh
// install without a login hook: a valid code creates a user bound to it, applies it and signs in
// (302 + session); the same code signs the same user in again (even used up, and under
// concurrent first sign-ins); an unknown code is -1; the code's expired plan is -2, redirected
// to expired_redirect_url when set.
func TestLoginTokenCDK(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	create := func(b adminclient.RedemptionCodeCreate) string {
		res, err := env.Admin().RedemptionCodeCreateWithResponse(ctx, b)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		return res.JSON201.Codes[0]
	}
	quota := int64(7777)
	code := create(adminclient.RedemptionCodeCreate{Name: "cdk", Count: 1, Quota: &quota})

	// Concurrent first sign-ins with one code: one user is created and credited once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	users := map[int]int{}
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := logintoken(t, env, url.Values{"access_token": {code}})
			mu.Lock()
			defer mu.Unlock()
			users[got.status]++
			if got.status == http.StatusFound {
				require.Equal(t, "/app", got.location)
				require.Equal(t, 0, got.code)
				require.NotNil(t, got.cookie)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, map[int]int{http.StatusFound: 5}, users)

	got := logintoken(t, env, url.Values{"access_token": {code}}) // later: the same user
	require.Equal(t, http.StatusFound, got.status)
	require.Equal(t, http.StatusOK, me(t, env, got.cookie))
	page, err := env.Admin().UserListWithResponse(ctx, &adminclient.UserListParams{Q: ptr("cdk-")})
	require.NoError(t, err)
	require.Len(t, page.JSON200.Items, 1)
	require.Equal(t, int64(7777), page.JSON200.Items[0].Balance) // applied once
	codes, err := env.Admin().RedemptionCodeListWithResponse(ctx, &adminclient.RedemptionCodeListParams{Name: ptr("cdk")})
	require.NoError(t, err)
	require.Equal(t, adminclient.RedemptionCodeStatusUsed, codes.JSON200.Items[0].Status)

	got = logintoken(t, env, url.Values{"access_token": {"PGR-NOSUCHCODE0000000000000"}})
	require.Equal(t, http.StatusUnauthorized, got.status)
	require.Equal(t, -1, got.code)

	// A plan code: the user gets the plan; once it has expired the code answers -2.
	pl, err := env.Admin().PlanCreateWithResponse(ctx, adminclient.PlanCreate{Name: "Pro", Tier: commonclient.PlanTierPro, DurationDays: 30})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, pl.StatusCode(), string(pl.Body))
	pcode := create(adminclient.RedemptionCodeCreate{Name: "cdk-plan", Count: 1, PlanId: &pl.JSON201.Id})
	got = logintoken(t, env, url.Values{"access_token": {pcode}})
	require.Equal(t, http.StatusFound, got.status)
	page, err = env.Admin().UserListWithResponse(ctx, &adminclient.UserListParams{Q: ptr("cdk-")})
	require.NoError(t, err)
	require.Len(t, page.JSON200.Items, 2)
	var planUser int64
	for _, u := range page.JSON200.Items {
		if u.Tier != nil && *u.Tier == "pro" {
			planUser = u.Id
		}
	}
	require.NotZero(t, planUser)
	past := time.Now().Add(-time.Hour)
	tier := adminclient.Pro
	up, err := env.Admin().UserUpdateWithResponse(ctx, planUser, adminclient.UserUpdate{Tier: &tier, PlanExpiresAt: wire.Opt(&past)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	got = logintoken(t, env, url.Values{"access_token": {pcode}})
	require.Equal(t, http.StatusForbidden, got.status)
	require.Equal(t, -2, got.code)
	to := "https://shop.example.com/renew"
	res, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{ExpiredRedirectUrl: &to})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	got = logintoken(t, env, url.Values{"access_token": {pcode}})
	require.Equal(t, http.StatusFound, got.status)
	require.Equal(t, to, got.location)
	require.Equal(t, -2, got.code)
}

// TestPricingAndPublicModels: /api/pricing answers only while pricing_endpoint_enabled is on;
// /api/public/models lists the usable models.
func TestPricingAndPublicModels(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price("gpt-4o", 2_500_000, 10_000_000)
	env.Channel("main", []string{"gpt-4o"}, "sk-pricing-account-0001")
	get := func(path string) (int, string) {
		res, err := env.HTTP.Get(env.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b := make([]byte, 4096)
		n, _ := res.Body.Read(b)
		return res.StatusCode, string(b[:n])
	}
	status, _ := get("/api/pricing")
	require.Equal(t, http.StatusNotFound, status)
	on := true
	res, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{PricingEndpointEnabled: &on})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	status, body := get("/api/pricing")
	require.Equal(t, http.StatusOK, status, body)
	require.JSONEq(t, `{"items":[{"name":"gpt-4o","input_price":2500000,"output_price":10000000,"cached_input_price":2500000,
		"cache_write_5m_price":2500000,"cache_write_1h_price":2500000,"reasoning_price":10000000,"per_call_price":0,
		"image_price":0,"prompt_tier":null}]}`, body)
	status, body = get("/api/public/models")
	require.Equal(t, http.StatusOK, status, body)
	require.JSONEq(t, `{"items":[{"name":"gpt-4o"}]}`, body)
}

func ptr[T any](v T) *T { return &v }
