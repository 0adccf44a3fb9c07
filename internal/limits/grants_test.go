package limits_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/limits"
)

// hammer runs callers goroutines per instance, each admitting calls one after another until the
// attempts run out; an admitted call runs for hold and is released as served (tokens used,
// charge). It returns the calls admitted and refused, and the most that were in flight at once.
func hammer(t *testing.T, ls []*limits.Limiter, callers, attempts int, cs []limits.Counter, est int64,
	hold func() *limits.Hold, holdFor time.Duration, tokens, charge int64) (ok, refused, most int64) {
	t.Helper()
	var left, inFlight, peak, okN, refN atomic.Int64
	left.Store(int64(attempts))
	var wg sync.WaitGroup
	for _, l := range ls {
		for range callers {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					var h *limits.Hold
					if hold != nil {
						h = hold()
					}
					tk, ref := l.Admit(context.Background(), cs, est, h)
					if ref != nil {
						refN.Add(1)
						continue
					}
					okN.Add(1)
					n := inFlight.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					if holdFor > 0 {
						time.Sleep(holdFor)
					}
					inFlight.Add(-1)
					l.ReleaseLater(tk, true, tokens, charge)
				}
			})
		}
	}
	wg.Wait()
	for _, l := range ls {
		l.Flush(context.Background())
	}
	return okN.Load(), refN.Load(), peak.Load()
}

// locals sums the calls the instances admitted against their allowances.
func locals(ls []*limits.Limiter) (n int64) {
	for _, l := range ls {
		n += l.LocalAdmits()
	}
	return n
}

// TestAllowancesExact: limits far above one call are admitted against allowances (hundreds of
// calls without waiting for Redis), and stay exact across two instances up to the last call: a requests
// rule, a tokens rule, a concurrency rule and a balance each admit exactly what they allow, and
// what the instances count afterwards is exactly the calls made.
func TestAllowancesExact(t *testing.T) {
	t.Parallel()
	t.Run("requests", func(t *testing.T) {
		t.Parallel()
		ls := instances(t, true, 2)
		cs := limits.Match([]limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*", Window: time.Hour, Requests: 3000}},
			limits.Who{User: 1}, "m")
		ok, refused, _ := hammer(t, ls, 32, 5000, cs, 0, nil, 0, 0, 0)
		require.Equal(t, int64(3000), ok)
		require.Equal(t, int64(2000), refused)
		require.Greater(t, locals(ls), int64(300), "calls admitted against allowances")
		for _, l := range ls {
			require.Equal(t, int64(3000), l.Status(context.Background(), cs)[0].Requests)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		t.Parallel()
		ls := instances(t, true, 2)
		cs := limits.Match([]limits.Rule{{ID: 2, Scope: limits.ScopeUser, Model: "*", Window: time.Hour, Tokens: 300_000}},
			limits.Who{User: 2}, "m")
		// Estimated at 100 tokens, each uses its 100: exactly 3000 fit.
		ok, _, _ := hammer(t, ls, 32, 5000, cs, 100, nil, 0, 100, 0)
		require.Equal(t, int64(3000), ok)
		require.Greater(t, locals(ls), int64(300))
		require.Equal(t, int64(300_000), ls[1].Status(context.Background(), cs)[0].Tokens)
	})
	t.Run("concurrency", func(t *testing.T) {
		t.Parallel()
		ls := instances(t, true, 2)
		cs := limits.Match([]limits.Rule{{ID: 3, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Concurrency: 100}},
			limits.Who{User: 3}, "m")
		// Each instance first takes its allowance (an eighth of the slots), then 160 callers
		// contend for the 100 slots: the allowances are not refilled near the limit.
		for _, l := range ls {
			tk, ref := l.Admit(context.Background(), cs, 0, nil)
			require.Nil(t, ref)
			l.Release(context.Background(), tk, true, 0, 0)
		}
		time.Sleep(50 * time.Millisecond)
		ok, refused, most := hammer(t, ls, 80, 6000, cs, 0, nil, 2*time.Millisecond, 0, 0)
		require.LessOrEqual(t, most, int64(100), "never more in flight than the rule allows")
		require.Equal(t, int64(6000), ok+refused)
		require.GreaterOrEqual(t, locals(ls), int64(16))
		require.Zero(t, ls[0].Status(context.Background(), cs)[0].Concurrency)
	})
	t.Run("balance", func(t *testing.T) {
		t.Parallel()
		ls := instances(t, true, 2)
		// A balance for exactly 2000 calls of 100.
		acct := limits.UserAccount(4, 200_000, 0)
		hold := func() *limits.Hold {
			return &limits.Hold{Amount: 100, Accounts: []limits.Account{acct},
				Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
		}
		ok, refused, _ := hammer(t, ls, 32, 3000, nil, 0, hold, 0, 0, 100)
		require.Equal(t, int64(2000), ok)
		require.Equal(t, int64(1000), refused)
		require.Greater(t, locals(ls), int64(100))
		for _, l := range ls {
			require.Zero(t, l.Available(context.Background(), acct))
		}
	})
}

// TestAllowancesLiveStatus: what an instance admitted against its allowance shows at once in its
// own status and balance, in every other instance's once recorded (its record held up to 30 ms,
// then a batch), and what the allowance still holds shows in none.
func TestAllowancesLiveStatus(t *testing.T) {
	t.Parallel()
	ls := instances(t, true, 2)
	ctx := context.Background()
	cs := limits.Match([]limits.Rule{{ID: 5, Scope: limits.ScopeUser, Model: "*", Window: time.Hour,
		Requests: 1 << 30, Tokens: 1 << 40, Concurrency: 1 << 20}}, limits.Who{User: 6}, "m")
	acct := limits.UserAccount(6, 1<<40, 0)
	hold := func() *limits.Hold {
		return &limits.Hold{Amount: 300, Accounts: []limits.Account{acct},
			Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
	}
	var held []*limits.Ticket
	for range 100 {
		tk, ref := ls[0].Admit(ctx, cs, 120, hold())
		require.Nil(t, ref)
		held = append(held, tk)
		if len(held) == 1 {
			time.Sleep(50 * time.Millisecond) // the first call's ask for allowances is answered
		}
	}
	require.Positive(t, ls[0].LocalAdmits())
	// The instance that admitted them shows them at once (its held records go first).
	u := ls[0].Status(ctx, cs)[0]
	require.Equal(t, [3]int64{100, 100 * 120, 100}, [3]int64{u.Requests, u.Tokens, u.Concurrency})
	require.Equal(t, acct.Limit-100*300, ls[0].Available(ctx, acct))
	// The other instance sees the 100 calls in flight, their tokens and reservations, within a
	// batch of their admission; nothing of the allowances.
	require.Eventually(t, func() bool {
		u := ls[1].Status(ctx, cs)[0]
		return u.Requests == 100 && u.Tokens == 100*120 && u.Concurrency == 100 &&
			ls[1].Available(ctx, acct) == acct.Limit-100*300
	}, 2*time.Second, 5*time.Millisecond)
	for _, tk := range held {
		ls[0].ReleaseLater(tk, true, 100, 250)
	}
	ls[0].Flush(ctx)
	u = ls[1].Status(ctx, cs)[0]
	require.Equal(t, limits.Usage{Requests: 100, Tokens: 100 * 100, Concurrency: 0}, limits.Usage{Requests: u.Requests,
		Tokens: u.Tokens, Concurrency: u.Concurrency})
	require.Equal(t, acct.Limit-100*250, ls[1].Available(ctx, acct))
}
