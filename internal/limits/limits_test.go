package limits_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/limits"
)

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(context.Background()).Err())
	return rdb
}

// redisLimiter is a limiter on the local Redis under a key prefix of the test's own, its client
// and the prefix.
func redisLimiter(t *testing.T) (*limits.Limiter, *redis.Client, string) {
	t.Helper()
	rdb := redisClient(t)
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	return limits.New(limits.Config{Redis: rdb, Prefix: prefix}), rdb, prefix
}

// instances are limiters as separate app instances make them: sharing one Redis (and prefix), or
// alone in process.
func instances(t *testing.T, shared bool, n int) []*limits.Limiter {
	t.Helper()
	out := make([]*limits.Limiter, n)
	if !shared {
		out[0] = limits.New(limits.Config{})
		for i := 1; i < n; i++ {
			out[i] = out[0]
		}
		return out
	}
	rdb := redisClient(t)
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	for i := range out {
		out[i] = limits.New(limits.Config{Redis: rdb, Prefix: prefix})
	}
	return out
}

func TestParseWindow(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"60s": time.Minute, "1m": time.Minute, "3h": 3 * time.Hour,
		"1d": 24 * time.Hour, "1h30m": 90 * time.Minute, "31d": 31 * 24 * time.Hour} {
		got, err := limits.ParseWindow(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0s", "500ms", "32d", "0d", "x", "-1h", "1w"} {
		_, err := limits.ParseWindow(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "3h", limits.FormatWindow(3*time.Hour))
	require.Equal(t, "1d", limits.FormatWindow(24*time.Hour))
	require.Equal(t, "90s", limits.FormatWindow(90*time.Second))
}

func TestModelPatterns(t *testing.T) {
	t.Parallel()
	require.True(t, limits.MatchModel("*", "x"))
	require.True(t, limits.MatchModel("gpt-4o", "gpt-4o"))
	require.False(t, limits.MatchModel("gpt-4o", "gpt-4o-mini"))
	require.True(t, limits.MatchModel("gpt-4*", "gpt-4o-mini"))
	require.True(t, limits.MatchModel("*flash*", "gemini-2.5-flash-lite"))
	require.False(t, limits.MatchModel("*flash*", "gemini-2.5-pro"))
	for _, bad := range []string{"", "a*b", "**", "*a", "a**"} {
		require.Error(t, limits.ValidModel(bad), bad)
	}
}

func TestMatchOrder(t *testing.T) {
	t.Parallel()
	rules := []limits.Rule{
		{ID: 1, Scope: limits.ScopeGlobal, Model: "*", Window: time.Minute, Requests: 1},
		{ID: 2, Scope: limits.ScopeUser, Model: "*flash*", Window: 3 * time.Hour, Requests: 60},
		{ID: 3, Scope: limits.ScopeUser, Subject: 7, Model: "gemini-flash", Window: time.Minute, Requests: 1},
		{ID: 4, Scope: limits.ScopeUser, Subject: 8, Model: "*", Window: time.Minute, Requests: 1},
		{ID: 5, Scope: limits.ScopeKey, Model: "*", Window: time.Minute, Requests: 1},
		{ID: 6, Scope: limits.ScopeGroup, Model: "*", Window: time.Minute, Requests: 1},
	}
	cs := limits.Match(rules, limits.Who{User: 7, Key: 70}, "gemini-flash")
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.Rule.ID)
	}
	// The key's rule, the user's named rule, the user's pattern rule, the global one; no group.
	require.Equal(t, []int64{5, 3, 2, 1}, ids)
	require.Equal(t, "r2:7", cs[2].Key)
	require.Equal(t, "r1:0", cs[3].Key)
}

// admitMany starts n calls at once over the instances and counts the admitted ones.
func admitMany(t *testing.T, ls []*limits.Limiter, cs []limits.Counter, n int, est int64) ([]*limits.Ticket, []*limits.Refusal) {
	t.Helper()
	var mu sync.Mutex
	var ok []*limits.Ticket
	var refused []*limits.Refusal
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tk, ref := ls[i%len(ls)].Admit(context.Background(), cs, est, nil)
			mu.Lock()
			defer mu.Unlock()
			if ref != nil {
				refused = append(refused, ref)
			} else {
				ok = append(ok, tk)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok, refused
}

func TestSixtyPerThreeHoursExact(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "two instances, Redis", false: "one instance, in process"}[shared]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ls := instances(t, shared, 2)
			rules := []limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*flash*", Window: 3 * time.Hour, Requests: 60}}
			cs := limits.Match(rules, limits.Who{User: 42}, "gemini-flash")
			ok, refused := admitMany(t, ls, cs, 200, 0)
			require.Len(t, ok, 60)
			require.Len(t, refused, 140)
			for _, r := range refused {
				require.Equal(t, limits.KindRequests, r.Kind)
				require.Equal(t, int64(1), r.Rule.ID)
				require.Greater(t, r.ClearsIn, 2*time.Hour+59*time.Minute)
				require.LessOrEqual(t, r.ClearsIn, 3*time.Hour)
			}
			// Another user has their own 60; another model is not limited.
			ok2, _ := admitMany(t, ls, limits.Match(rules, limits.Who{User: 43}, "gemini-flash"), 61, 0)
			require.Len(t, ok2, 60)
			require.Empty(t, limits.Match(rules, limits.Who{User: 42}, "gpt-4o"))
			u := ls[1].Status(context.Background(), cs)
			require.Equal(t, int64(60), u[0].Requests)
			require.Greater(t, u[0].ClearsIn, 2*time.Hour)
			// A call that was not served gives its request back.
			ls[0].Release(context.Background(), ok[0], false, 0, 0)
			_, ref := ls[1].Admit(context.Background(), cs, 0, nil)
			require.Nil(t, ref)
			_, ref = ls[0].Admit(context.Background(), cs, 0, nil)
			require.NotNil(t, ref)
		})
	}
}

func TestConcurrencyExact(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memory"}[shared], func(t *testing.T) {
			t.Parallel()
			ls := instances(t, shared, 2)
			rules := []limits.Rule{{ID: 9, Scope: limits.ScopeKey, Model: "*", Window: time.Minute, Concurrency: 5}}
			cs := limits.Match(rules, limits.Who{User: 1, Key: 2}, "m")
			ok, refused := admitMany(t, ls, cs, 50, 0)
			require.Len(t, ok, 5)
			require.Equal(t, limits.KindConcurrency, refused[0].Kind)
			require.Equal(t, int64(5), ls[0].Status(context.Background(), cs)[0].Concurrency)
			for i, tk := range ok {
				ls[i%2].Release(context.Background(), tk, true, 0, 0)
			}
			ok, _ = admitMany(t, ls, cs, 50, 0)
			require.Len(t, ok, 5)
		})
	}
}

func TestTokensExact(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memory"}[shared], func(t *testing.T) {
			t.Parallel()
			ls := instances(t, shared, 2)
			rules := []limits.Rule{{ID: 3, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Tokens: 1000}}
			cs := limits.Match(rules, limits.Who{User: 5}, "m")
			// Calls estimated at 100 tokens: exactly 10 fit while they run.
			ok, refused := admitMany(t, ls, cs, 40, 100)
			require.Len(t, ok, 10)
			require.Equal(t, limits.KindTokens, refused[0].Kind)
			// They used 60 each: 400 tokens free, four more calls of 100 fit.
			for i, tk := range ok {
				ls[i%2].Release(context.Background(), tk, true, 60, 0)
			}
			require.Equal(t, int64(600), ls[0].Status(context.Background(), cs)[0].Tokens)
			ok, _ = admitMany(t, ls, cs, 40, 100)
			require.Len(t, ok, 4)
		})
	}
}

// TestRedisOutage: with Redis unreachable, calls are counted in process (and still limited).
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	l := limits.New(limits.Config{Redis: dead})
	cs := limits.Match([]limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*", Window: time.Hour, Requests: 3}}, limits.Who{User: 1}, "m")
	var admitted atomic.Int64
	for range 5 {
		if _, ref := l.Admit(context.Background(), cs, 0, nil); ref == nil {
			admitted.Add(1)
		}
	}
	require.Equal(t, int64(3), admitted.Load())
	require.Equal(t, int64(5), l.Fallbacks())
	require.Equal(t, int64(3), l.Status(context.Background(), cs)[0].Requests)
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	ok := limits.Rule{Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Requests: 1}
	require.NoError(t, ok.Validate())
	for _, bad := range []limits.Rule{
		{Scope: "team", Model: "*", Window: time.Minute, Requests: 1},
		{Scope: limits.ScopeGlobal, Subject: 1, Model: "*", Window: time.Minute, Requests: 1},
		{Scope: limits.ScopeUser, Model: "*", Window: time.Minute},
		{Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Requests: -1},
		{Scope: limits.ScopeUser, Model: "a*b", Window: time.Minute, Requests: 1},
	} {
		require.Error(t, bad.Validate())
	}
}

// TestTokensRunningSum: a tokens rule's running sum follows admissions, releases (the estimate
// replaced by the real count) and entries leaving the window (pruned when the sum would refuse a
// call), and is rebuilt when missing.
func TestTokensRunningSum(t *testing.T) {
	t.Parallel()
	l, rdb, prefix := redisLimiter(t)
	ctx := context.Background()
	rules := []limits.Rule{{ID: 11, Scope: limits.ScopeUser, Model: "*", Window: 2 * time.Second, Tokens: 100}}
	cs := limits.Match(rules, limits.Who{User: 3}, "m")
	sumKey := prefix + "{lim}:" + cs[0].Key + ":m" // the counter's state hash; s is the sum
	sum := func() int64 {
		v, err := rdb.HGet(ctx, sumKey, "s").Int64()
		require.NoError(t, err)
		return v
	}
	a, ref := l.Admit(ctx, cs, 40, nil)
	require.Nil(t, ref)
	l.Release(ctx, a, true, 30, 0)
	require.Equal(t, int64(30), sum())
	_, ref = l.Admit(ctx, cs, 40, nil)
	require.Nil(t, ref)
	require.Equal(t, int64(70), sum())
	_, ref = l.Admit(ctx, cs, 40, nil)
	require.NotNil(t, ref)
	require.Equal(t, limits.KindTokens, ref.Kind)
	require.NoError(t, rdb.Del(ctx, sumKey).Err())
	_, ref = l.Admit(ctx, cs, 30, nil)
	require.Nil(t, ref, "the rebuilt sum is 70: 30 more fit")
	require.Equal(t, int64(100), sum())
	require.Equal(t, int64(100), l.Status(ctx, cs)[0].Tokens)
	// Once the window has passed, the entries leave it and the sum with them.
	require.Eventually(t, func() bool { return l.Status(ctx, cs)[0].Tokens == 0 }, 10*time.Second, 50*time.Millisecond)
	_, ref = l.Admit(ctx, cs, 100, nil)
	require.Nil(t, ref)
	require.Equal(t, int64(100), sum())
}

// TestTokensExpiryAfterRelease: a token set that a release starts again (its only entry replaced
// by the real count, which recreates the key) expires with the counter's other keys, not one
// window after that release: a call admitted after it, before the next prune, still counts its
// tokens for its whole window (the set was losing it early, and the counter's running sum kept it).
func TestTokensExpiryAfterRelease(t *testing.T) {
	t.Parallel()
	l, _, _ := redisLimiter(t)
	ctx := context.Background()
	rules := []limits.Rule{{ID: 12, Scope: limits.ScopeUser, Model: "*", Window: 8 * time.Second, Tokens: 1000}}
	cs := limits.Match(rules, limits.Who{User: 4}, "m")
	start := time.Now()
	a, ref := l.Admit(ctx, cs, 10, nil)
	require.Nil(t, ref)
	l.Release(ctx, a, true, 10, 0)
	time.Sleep(time.Second) // within a quarter window: no prune
	b, ref := l.Admit(ctx, cs, 30, nil)
	require.Nil(t, ref)
	l.Release(ctx, b, true, 20, 0)
	time.Sleep(time.Until(start.Add(8500 * time.Millisecond))) // a has left the window, b has not
	require.Equal(t, int64(20), l.Status(ctx, cs)[0].Tokens)
}

// TestKeysExpire: every key the limiter writes has an expiry, at most the counter's (two
// windows, at least a lease) or the ledger's, including the set of calls in flight and the set
// of reservations when each starts again empty (its last entry left, which deletes the key, and
// the next call adds the first one again, without refreshing the other keys' expiry).
func TestKeysExpire(t *testing.T) {
	t.Parallel()
	l, rdb, prefix := redisLimiter(t)
	ctx := context.Background()
	rules := []limits.Rule{{ID: 14, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Requests: 100,
		Tokens: 1 << 20, Concurrency: 5}}
	cs := limits.Match(rules, limits.Who{User: 7}, "m")
	acct := limits.UserAccount(7, 1<<40, 0)
	hold := func() *limits.Hold {
		return &limits.Hold{Amount: 10, Accounts: []limits.Account{acct},
			Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
	}
	check := func(live int) {
		t.Helper()
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		require.NotEmpty(t, keys)
		inflight, held := false, false
		for _, k := range keys {
			ttl, err := rdb.PTTL(ctx, k).Result()
			require.NoError(t, err)
			require.Positive(t, ttl, "key %s has no expiry", k)
			require.LessOrEqual(t, ttl, 24*time.Hour, "key %s", k)
			inflight = inflight || strings.HasSuffix(k, ":c") && strings.Contains(k, ":r14:")
			held = held || strings.HasSuffix(k, ":h") && strings.Contains(k, ":u7")
		}
		require.Equal(t, live > 0, inflight && held, "the sets of calls in flight and reservations exist while calls run")
	}
	for range 3 {
		a, ref := l.Admit(ctx, cs, 5, hold())
		require.Nil(t, ref)
		b, ref := l.Admit(ctx, cs, 5, hold())
		require.Nil(t, ref)
		check(2)
		l.Release(ctx, a, true, 4, 3)
		l.Release(ctx, b, true, 4, 3)
		check(0) // both sets are gone: the next admission starts them again
	}
}

// TestSequentialCaller: a caller that sends its next call as soon as the previous one ends is
// never refused by that previous call, while this instance's releases queue behind others: its
// concurrency-1 rule does not count it as still in flight, nor does its balance count its
// reservation as still held (each call reserves all that is left; the release charges 100 and
// frees the rest), whether the next call comes at once or a little later. Other users' calls
// load the limiter meanwhile, so that releases wait for a round trip already under way.
func TestSequentialCaller(t *testing.T) {
	t.Parallel()
	l, _, _ := redisLimiter(t)
	ctx := context.Background()
	rules := []limits.Rule{{ID: 21, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Concurrency: 1},
		{ID: 22, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Requests: 1 << 40}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for u := range 16 {
		wg.Go(func() {
			cs := limits.Match(rules[1:], limits.Who{User: int64(100 + u)}, "m")
			for !stop.Load() {
				tk, ref := l.Admit(ctx, cs, 0, nil)
				if ref != nil {
					t.Errorf("user %d refused: %+v", 100+u, ref)
					return
				}
				time.Sleep(time.Duration(u%4) * 100 * time.Microsecond)
				l.ReleaseLater(tk, true, 0, 0)
			}
		})
	}
	cs := limits.Match(rules, limits.Who{User: 9}, "m")
	acct := limits.UserAccount(9, 1_000_000, 0)
	hold := func() *limits.Hold {
		return &limits.Hold{Amount: 1 << 40, Accounts: []limits.Account{acct},
			Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
	}
	calls, held := 0, 0
	for _, gap := range []time.Duration{0, 100 * time.Microsecond, 300 * time.Microsecond} {
		for i := range 200 {
			var h *limits.Hold
			var charge int64
			if i%2 == 0 { // every other call reserves and is charged; the others count concurrency only
				h, charge = hold(), 100
				held++
			}
			tk, ref := l.Admit(ctx, cs, 0, h)
			require.Nil(t, ref, "call %d (next call %v after the previous one)", calls, gap)
			calls++
			l.ReleaseLater(tk, true, 0, charge)
			time.Sleep(gap)
		}
	}
	stop.Store(true)
	wg.Wait()
	require.Positive(t, l.Readmits(), "no call was refused first: the test did not reach the race")
	require.Equal(t, int64(1_000_000-100*held), l.Available(ctx, acct))
}

// TestReadmitKinds: a refusal another instance's release could lift (concurrency) is admitted
// again after a short wait, so a caller's next call sent to another instance the moment its
// previous call ended is admitted; a window's refusal (requests) is answered at once, without a
// second admission.
func TestReadmitKinds(t *testing.T) {
	t.Parallel()
	ls := instances(t, true, 2)
	ctx := context.Background()
	conc := limits.Match([]limits.Rule{{ID: 31, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Concurrency: 1}},
		limits.Who{User: 11}, "m")
	refused := 0
	for i := range 200 {
		tk, ref := ls[i%2].Admit(ctx, conc, 0, nil)
		if ref != nil {
			refused++
			continue
		}
		ls[i%2].ReleaseLater(tk, true, 0, 0)
	}
	require.LessOrEqual(t, refused, 2, "a next call on the other instance met its previous one")
	require.Positive(t, ls[0].Readmits()+ls[1].Readmits(), "no call was refused first: the test did not reach the race")

	reqs := limits.Match([]limits.Rule{{ID: 32, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Requests: 1}},
		limits.Who{User: 12}, "m")
	tk, ref := ls[0].Admit(ctx, reqs, 0, nil)
	require.Nil(t, ref)
	ls[0].Release(ctx, tk, true, 0, 0)
	before := ls[1].Readmits()
	_, ref = ls[1].Admit(ctx, reqs, 0, nil)
	require.NotNil(t, ref)
	require.Equal(t, limits.KindRequests, ref.Kind)
	require.Equal(t, before, ls[1].Readmits(), "a window's refusal is not admitted again")
}
