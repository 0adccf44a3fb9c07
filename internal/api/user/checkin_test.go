package user_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
)

// TestCheckIn: off by default; on, 20 concurrent check-ins on one day credit one reward in the
// configured range, and the status and records show it.
func TestCheckIn(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	ctx := context.Background()
	u := env.NewUser("carol", 1000)
	c := env.User(u.Token)

	off, err := c.CheckInCreateWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, off.StatusCode())
	require.Equal(t, "check_in_disabled", off.JSON403.Detail.Code)

	bad, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{CheckInMinReward: ptrTo(int64(10)),
		CheckInMaxReward: ptrTo(int64(5))})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode(), string(bad.Body))
	bad, err = env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{SiteTimeZone: ptrTo("Mars/Olympus")})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode(), string(bad.Body))
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{CheckInEnabled: ptrTo(true),
		CheckInMinReward: ptrTo(int64(100)), CheckInMaxReward: ptrTo(int64(200)), SiteTimeZone: ptrTo("Asia/Shanghai")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))

	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var reward int64
	for range 20 {
		wg.Go(func() {
			res, err := c.CheckInCreateWithResponse(ctx)
			if !assertNoError(t, err) {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			statuses[res.StatusCode()]++
			if res.StatusCode() == http.StatusOK {
				reward = res.JSON200.Reward
				if res.JSON200.Balance != 1000+reward {
					t.Errorf("balance %d after reward %d", res.JSON200.Balance, reward)
				}
			} else if res.StatusCode() != http.StatusConflict || res.JSON409.Detail.Code != "check_in_done" {
				t.Errorf("unexpected answer %d: %s", res.StatusCode(), res.Body)
			}
		})
	}
	wg.Wait()
	require.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: 19}, statuses)
	require.GreaterOrEqual(t, reward, int64(100))
	require.LessOrEqual(t, reward, int64(200))
	require.Equal(t, 1000+reward, env.Balance(u.ID))

	st, err := c.CheckInStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	require.True(t, st.JSON200.CheckedInToday)
	require.Equal(t, reward, st.JSON200.RewardToday.MustGet())
	require.Equal(t, int64(1), st.JSON200.Days)
	require.Equal(t, reward, st.JSON200.Total)
	recs, err := c.CheckInRecordListWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, recs.StatusCode(), string(recs.Body))
	require.Len(t, recs.JSON200.Items, 1)
	require.Equal(t, st.JSON200.Today, recs.JSON200.Items[0].Day)

	// Another user checks in the same day.
	other := env.NewUser("dave", 0)
	res, err := env.User(other.Token).CheckInCreateWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}
