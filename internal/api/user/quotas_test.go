package user_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

// quotaClock is a settable clock for the shared quota's recovery.
type quotaClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *quotaClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *quotaClock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// setQuota sets the shared quota settings.
func setQuota(t *testing.T, env *apptest.Env, base int64, bonus map[string]int64, hours float64) {
	t.Helper()
	unit := adminclient.SettingsUpdateSharedQuotaUnitCalls
	res, err := env.Admin().SettingsUpdateWithResponse(context.Background(), adminclient.SettingsUpdate{SharedQuotaBase: &base,
		SharedQuotaBonusPerAccount: (*adminclient.SharedQuotaBonus)(&bonus), SharedQuotaRecoveryHours: &hours, SharedQuotaUnit: &unit})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}

// quotaOf reads a user's shared quota of one family.
func quotaOf(t *testing.T, env *apptest.Env, u *apptest.TestUser, family string) userclient.SharedQuota {
	t.Helper()
	res, err := env.User(u.Token).QuotaUserListWithResponse(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	for _, q := range res.JSON200.Items {
		if q.Family == family {
			return q
		}
	}
	t.Fatalf("no %s quota in %s", family, res.Body)
	return userclient.SharedQuota{}
}

// chatRefusal makes one call and returns its status and, when refused, the error's code and clears_in.
func chatRefusal(t *testing.T, env *apptest.Env, key string) (int, string, int64) {
	t.Helper()
	res, err := gateway(t, env, key).ChatCompletionCreateWithBodyWithResponse(context.Background(), "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}`))
	require.NoError(t, err)
	if res.StatusCode() == http.StatusOK {
		return http.StatusOK, "", 0
	}
	var body struct {
		Error struct {
			Code     string `json:"code"`
			ClearsIn int64  `json:"clears_in"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body), string(res.Body))
	return res.StatusCode(), body.Error.Code, body.Error.ClearsIn
}

// TestSharedQuotaPool: a user contributes a shared account that others ride while the owner's
// cap grows; calls on dedicated accounts consume nothing and the preference order is honoured;
// the quota recovers continuously over the (fake) clock.
func TestSharedQuotaPool(t *testing.T) {
	t.Parallel()
	const shared, dedicated = "sk-quota-shared-0123456789", "sk-quota-dedicated-0123456789"
	// The clock starts at the real time: a session's end is by this clock, but Redis expires the
	// session's key at that end by its own, so a clock fixed a day in the past ends every session
	// at once.
	clk := &quotaClock{t: time.Now().UTC()}
	c := newContribEnvWith(t, []apptest.Option{apptest.WithClock(clk.now)}, shared, dedicated)
	env := c.env
	setQuota(t, env, 3, map[string]int64{"*": 0, "openai": 2}, 1)
	owner, rider := env.NewUser("qowner", 1_000_000), env.NewUser("qrider", 1_000_000)

	require.EqualValues(t, 3, quotaOf(t, env, rider, "openai").Cap, "the base before anyone contributes")
	c.contribute(t, owner, shared, true)
	oq := quotaOf(t, env, owner, "openai")
	require.EqualValues(t, 5, oq.Cap, "base 3 + 2 for the shared account")
	require.EqualValues(t, 1, oq.SharedAccounts)
	require.EqualValues(t, 3, quotaOf(t, env, rider, "openai").Cap)

	// The rider rides the owner's shared account three times; the fourth call is refused in
	// OpenAI's shape with clears_in (one call recovers every 20 minutes).
	for range 3 {
		status, cred := c.chat(t, rider.Key)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, shared, cred)
	}
	status, code, clears := chatRefusal(t, env, rider.Key)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "shared_quota_exhausted", code)
	require.InDelta(t, 1200, clears, 1)
	rq := quotaOf(t, env, rider, "openai")
	require.EqualValues(t, 3, rq.Used)
	require.EqualValues(t, 0, rq.Remaining)
	require.InDelta(t, 3600, rq.FullIn, 1)
	require.NotNil(t, wire.Ptr(rq.NextFull))

	// The owner's cap grew: five calls before the refusal.
	for range 5 {
		status, _ := c.chat(t, owner.Key)
		require.Equal(t, http.StatusOK, status)
	}
	status, code, _ = chatRefusal(t, env, owner.Key)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "shared_quota_exhausted", code)

	// A dedicated account serves its owner without consuming the quota (dedicated first, the
	// default): the quota stays used up, the calls pass.
	c.contribute(t, owner, dedicated, false)
	for range 3 {
		status, cred := c.chat(t, owner.Key)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, dedicated, cred)
	}
	require.EqualValues(t, 5, quotaOf(t, env, owner, "openai").Used)

	// Recovery: 20 minutes give the rider one call back, and an hour fills the quota.
	clk.advance(20 * time.Minute)
	rq = quotaOf(t, env, rider, "openai")
	require.EqualValues(t, 1, rq.Remaining)
	status, cred := c.chat(t, rider.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, shared, cred)
	status, _, _ = chatRefusal(t, env, rider.Key)
	require.Equal(t, http.StatusTooManyRequests, status)
	clk.advance(time.Hour)
	rq = quotaOf(t, env, rider, "openai")
	require.EqualValues(t, 0, rq.Used)
	require.EqualValues(t, 3, rq.Remaining)
	require.Nil(t, wire.Ptr(rq.NextFull))

	// Shared first: the owner's calls go to the shared account (consuming the recovered quota),
	// and to the dedicated one only once the quota is used up.
	pres, err := env.User(owner.Token).PreferencesUpdateWithResponse(context.Background(),
		userclient.Preferences{AccountPriority: userclient.SharedFirst})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pres.StatusCode(), string(pres.Body))
	for range 5 {
		status, cred := c.chat(t, owner.Key)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, shared, cred)
	}
	status, cred = c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, dedicated, cred, "the quota is used up: the dedicated account serves")
	require.EqualValues(t, 5, quotaOf(t, env, owner, "openai").Used)
}

// TestSharedQuotaExact: concurrent calls over two instances sharing Redis (and over one without
// Redis) are admitted exactly up to the cap.
func TestSharedQuotaExact(t *testing.T) {
	t.Parallel()
	for _, redis := range []bool{true, false} {
		t.Run(map[bool]string{true: "two instances, Redis", false: "one instance, in process"}[redis], func(t *testing.T) {
			t.Parallel()
			const key = "sk-quota-exact-0123456789"
			var opts []apptest.Option
			if !redis {
				opts = append(opts, apptest.WithoutRedis())
			}
			c := newContribEnvWith(t, opts, key)
			setQuota(t, c.env, 10, map[string]int64{"*": 0}, 5)
			owner, rider := c.env.NewUser("xowner", 1_000_000), c.env.NewUser("xrider", 1_000_000)
			c.contribute(t, owner, key, true)
			envs := []*apptest.Env{c.env}
			if redis { // started after the settings and the account: it reads them at start
				envs = append(envs, apptest.New(t, apptest.Sharing(c.env)))
			}
			var mu sync.Mutex
			counts := map[int]int{}
			var wg sync.WaitGroup
			for i := range 30 {
				wg.Go(func() {
					status, _, _ := chatRefusal(t, envs[i%len(envs)], rider.Key)
					mu.Lock()
					counts[status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			require.Equal(t, map[int]int{http.StatusOK: 10, http.StatusTooManyRequests: 20}, counts)
			require.EqualValues(t, 10, quotaOf(t, envs[len(envs)-1], rider, "openai").Used)
		})
	}
}
