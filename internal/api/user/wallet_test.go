package user_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

func createCodes(t *testing.T, env *apptest.Env, body adminclient.RedemptionCodeCreate) []string {
	t.Helper()
	res, err := env.Admin().RedemptionCodeCreateWithResponse(context.Background(), body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Len(t, res.JSON201.Codes, body.Count)
	return res.JSON201.Codes
}

// TestRedeemRace: 50 concurrent redeems of one code usable 5 times, by 10 users 5 times each,
// credit exactly 5 users once each; the rest are refused with the documented codes.
func TestRedeemRace(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	maxUses := 5
	code := createCodes(t, env, adminclient.RedemptionCodeCreate{Name: "race", Count: 1, Quota: ptrTo(int64(1234)), MaxUses: &maxUses})[0]
	users := make([]*apptest.TestUser, 10)
	for i := range users {
		users[i] = env.NewUser(fmt.Sprintf("racer%d", i), 100)
	}
	var mu sync.Mutex
	wins := map[int64]int{}
	refusals := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 50 {
		u := users[i%len(users)]
		wg.Go(func() {
			<-start
			res, err := env.User(u.Token).RedeemCreateWithResponse(context.Background(), userclient.RedeemRequest{Code: code})
			if !assertNoError(t, err) {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch res.StatusCode() {
			case http.StatusOK:
				wins[u.ID]++
				if res.JSON200.Quota != 1234 {
					t.Errorf("credited %d", res.JSON200.Quota)
				}
			case http.StatusConflict:
				refusals[res.JSON409.Detail.Code]++
			default:
				t.Errorf("unexpected answer %d: %s", res.StatusCode(), res.Body)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Len(t, wins, 5, "five distinct users win")
	for id, n := range wins {
		require.Equal(t, 1, n, "user %d credited once", id)
	}
	require.Equal(t, 45, refusals["redemption_code_used"]+refusals["redemption_code_redeemed"], "%v", refusals)
	var total int64
	for _, u := range users {
		total += env.Balance(u.ID) - 100
	}
	require.Equal(t, int64(5*1234), total)

	list, err := env.Admin().RedemptionCodeListWithResponse(context.Background(),
		&adminclient.RedemptionCodeListParams{Name: ptrTo("race")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, 5, list.JSON200.Items[0].UsedCount)
	require.Equal(t, adminclient.RedemptionCodeStatusUsed, list.JSON200.Items[0].Status)
	require.NotContains(t, string(list.Body), code, "codes are listed masked")
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// TestRedeemRefusals: one user racing one code is credited once; unknown, disabled and expired
// codes credit nothing; the batch exports in full; a deleted code no longer redeems.
func TestRedeemRefusals(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	u := env.NewUser("bob", 0)
	c := env.User(u.Token)
	ctx := context.Background()
	maxUses := 100
	codes := createCodes(t, env, adminclient.RedemptionCodeCreate{Name: "batch", Count: 3, Quota: ptrTo(int64(500)), MaxUses: &maxUses})
	for _, code := range codes {
		require.True(t, strings.HasPrefix(code, "PGR-"))
		require.Len(t, code, 28)
	}

	// 20 concurrent redeems of one code by one user: one credit.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 20 {
		wg.Go(func() {
			res, err := c.RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes[0]})
			if assertNoError(t, err) {
				mu.Lock()
				statuses[res.StatusCode()]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: 19}, statuses)
	require.Equal(t, int64(500), env.Balance(u.ID))
	again, err := c.RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes[0]})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, again.StatusCode())
	require.Equal(t, "redemption_code_redeemed", again.JSON409.Detail.Code)

	unknown, err := c.RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: "PGR-NOPE"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, unknown.StatusCode())
	require.Equal(t, "redemption_code_invalid", unknown.JSON404.Detail.Code)

	// Disabled, then expired.
	list, err := env.Admin().RedemptionCodeListWithResponse(ctx, &adminclient.RedemptionCodeListParams{
		Name: ptrTo("batch"), Status: ptrTo(adminclient.RedemptionCodeStatusActive)})
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 3)
	// newest first: codes[2], codes[1], codes[0]
	ids := []int64{list.JSON200.Items[0].Id, list.JSON200.Items[1].Id, list.JSON200.Items[2].Id}
	require.Equal(t, 1, list.JSON200.Items[2].UsedCount)
	up, err := env.Admin().RedemptionCodeUpdateWithResponse(ctx, ids[1], adminclient.RedemptionCodeUpdate{Disabled: ptrTo(true)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, adminclient.RedemptionCodeStatusDisabled, up.JSON200.Status)
	res, err := c.RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes[1]})
	require.NoError(t, err)
	require.Equal(t, "redemption_code_disabled", res.JSON409.Detail.Code)
	past := time.Now().Add(-time.Minute)
	up, err = env.Admin().RedemptionCodeUpdateWithResponse(ctx, ids[0], adminclient.RedemptionCodeUpdate{ExpiresAt: wire.Opt(&past)})
	require.NoError(t, err)
	require.Equal(t, adminclient.RedemptionCodeStatusExpired, up.JSON200.Status)
	res, err = c.RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes[2]})
	require.NoError(t, err)
	require.Equal(t, "redemption_code_expired", res.JSON409.Detail.Code)
	require.Equal(t, int64(500), env.Balance(u.ID), "refusals credit nothing")

	// max_uses down to the uses so far uses the code up.
	low, err := env.Admin().RedemptionCodeUpdateWithResponse(ctx, ids[2], adminclient.RedemptionCodeUpdate{MaxUses: ptrTo(1)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, low.StatusCode(), "1 use so far: 1 is allowed")
	require.Equal(t, adminclient.RedemptionCodeStatusUsed, low.JSON200.Status)

	// The CSV export has every code in full.
	exp, err := env.Admin().RedemptionCodeExportWithResponse(ctx, &adminclient.RedemptionCodeExportParams{Name: "batch"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, exp.StatusCode())
	for _, code := range codes {
		require.Contains(t, string(exp.Body), code)
	}
	require.Len(t, strings.Split(strings.TrimSpace(string(exp.Body)), "\n"), 4)

	del, err := env.Admin().RedemptionCodeDeleteWithResponse(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	res, err = c.RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes[2]})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode())
}
