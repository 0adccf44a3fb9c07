package limits_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// userHold is a reservation of amount against a user whose grants are limit and who has used
// used; fresh (when set) answers the ledger's rereads from "the database".
func userHold(amount, limit, used int64, fresh func() int64) *limits.Hold {
	h := &limits.Hold{Amount: amount, Accounts: []limits.Account{{Key: "u1", Kind: limits.KindBalance, Limit: limit, Used: used}}}
	if fresh != nil {
		h.Fresh = func(context.Context) ([]limits.Account, error) {
			return []limits.Account{{Key: "u1", Kind: limits.KindBalance, Limit: limit, Used: fresh()}}, nil
		}
	}
	return h
}

// reserveMany reserves n holds at once over the instances.
func reserveMany(ls []*limits.Limiter, n int, h func() *limits.Hold) ([]*limits.Ticket, []*limits.Refusal) {
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
			tk, ref := ls[i%len(ls)].Admit(context.Background(), nil, 0, h())
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

// TestLedgerExact: grants paying exactly 50 reservations of 10 admit exactly 50 of 300 concurrent
// calls over two instances sharing Redis, and in process; settled, the balance is exactly 0; an
// unserved call gives its reservation back; a key's quota is reserved with the user's.
func TestLedgerExact(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memory"}[shared], func(t *testing.T) {
			t.Parallel()
			ls := instances(t, shared, 2)
			var fresh atomic.Int64
			h := func() *limits.Hold { return userHold(10, 1000, 500, func() int64 { fresh.Add(1); return 500 }) }
			ok, refused := reserveMany(ls, 300, h)
			require.Len(t, ok, 50)
			require.Len(t, refused, 250)
			require.Equal(t, limits.KindBalance, refused[0].Kind)
			acct := h().Accounts[0]
			require.Equal(t, int64(0), ls[1].Available(context.Background(), acct))
			if shared {
				require.Positive(t, fresh.Load()) // the ledger started from the database
			}
			// One call was not served: its 10 come back; the others settle at 10 each.
			ls[0].Release(context.Background(), ok[0], false, 0, 0)
			require.Equal(t, int64(10), ls[1].Available(context.Background(), acct))
			for i, tk := range ok[1:] {
				ls[i%2].Release(context.Background(), tk, true, 0, 10)
			}
			require.Equal(t, int64(10), ls[0].Available(context.Background(), acct))
			last, ref := ls[1].Admit(context.Background(), nil, 0, h())
			require.Nil(t, ref)
			ls[1].Release(context.Background(), last, true, 0, 10)
			require.Equal(t, int64(0), ls[0].Available(context.Background(), acct))
			_, ref = ls[0].Admit(context.Background(), nil, 0, h())
			require.NotNil(t, ref)
			// The database catching up (used 1000) changes nothing: charges are not counted twice.
			acct.Used = 1000
			require.Equal(t, int64(0), ls[0].Available(context.Background(), acct))

			// A key with a quota of 30 under a user with plenty: exactly 3 of 20.
			kh := func() *limits.Hold {
				return &limits.Hold{Amount: 10, Accounts: []limits.Account{{Key: "u2", Kind: limits.KindBalance, Limit: 1 << 40},
					{Key: "k2", Kind: limits.KindKeyQuota, Limit: 30}}}
			}
			ok, refused = reserveMany(ls, 20, kh)
			require.Len(t, ok, 3)
			require.Equal(t, limits.KindKeyQuota, refused[0].Kind)
		})
	}
}

// throwawayRedis starts a redis-server of the test's own on a free port (never the shared one).
func throwawayRedis(t testing.TB, port int) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed: the Redis restart test needs its own server")
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, 10*time.Second, 10*time.Millisecond)
	return cmd
}

// TestLedgerRedisRestart: Redis flushed mid-load loses no charge and counts none twice (the
// ledger starts again from the database); Redis down: reservations go on in process (counted in
// Fallbacks); Redis back: reservations count there again.
func TestLedgerRedisRestart(t *testing.T) {
	t.Parallel()
	port := testsvc.FreePort(t)
	srv := throwawayRedis(t, port)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1,
		DialTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	l := limits.New(limits.Config{Redis: rdb})
	ctx := context.Background()
	var dbUsed atomic.Int64 // what the usage writer has written
	h := func() *limits.Hold { return userHold(10, 100, 0, dbUsed.Load) }

	ok, _ := reserveMany([]*limits.Limiter{l}, 5, h)
	require.Len(t, ok, 5)
	require.Equal(t, int64(50), l.Available(ctx, h().Accounts[0]))
	for _, tk := range ok[:2] { // two settle and are written
		l.Release(ctx, tk, true, 0, 10)
		dbUsed.Add(10)
	}
	require.NoError(t, rdb.FlushAll(ctx).Err()) // mid-load: three calls in flight
	for _, tk := range ok[2:] {
		l.Release(ctx, tk, true, 0, 10)
		dbUsed.Add(10)
	}
	// The ledger starts again from the database: 50 used, 50 left, not 20 or 80.
	ok, refused := reserveMany([]*limits.Limiter{l}, 10, h)
	require.Len(t, ok, 5)
	require.Len(t, refused, 5)
	for _, tk := range ok {
		l.Release(ctx, tk, false, 0, 0)
	}
	require.Zero(t, l.Fallbacks())

	// Redis goes away: calls go on in process.
	require.NoError(t, srv.Process.Kill())
	_ = srv.Wait()
	tk, ref := l.Admit(ctx, nil, 0, h())
	require.Nil(t, ref)
	require.Equal(t, int64(1), l.Fallbacks())
	l.Release(ctx, tk, true, 0, 10)
	dbUsed.Add(10)

	// Redis is back (empty): the ledger starts from the database again, which has every charge.
	throwawayRedis(t, port)
	require.Eventually(t, func() bool {
		before := l.Fallbacks()
		tk, ref := l.Admit(ctx, nil, 0, h())
		if ref != nil {
			return false
		}
		l.Release(ctx, tk, false, 0, 0)
		return l.Fallbacks() == before // admitted by Redis, not in process
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, int64(40), l.Available(ctx, h().Accounts[0]))
}

// TestLedgerHeldSum: the ledger's running sum of reservations (the hash's field h) follows adds,
// releases and expiries, and is rebuilt from the reservations when it is missing.
func TestLedgerHeldSum(t *testing.T) {
	t.Parallel()
	rdb := redisClient(t)
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	// Every reservation in Redis: an allowance (granted as the machine's timing has it) would
	// admit some in process and record them later, after the sums below are read.
	l := limits.New(limits.Config{Redis: rdb, Prefix: prefix, HoldLease: time.Second, NoAllowances: true})
	ctx := context.Background()
	acct := limits.Account{Key: "u1", Kind: limits.KindBalance, Limit: 100}
	hold := func(n int64) *limits.Hold {
		return &limits.Hold{Amount: n, Accounts: []limits.Account{acct},
			Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
	}
	sum := func() int64 {
		v, err := rdb.HGet(ctx, prefix+"{lim}:u1:c", "h").Int64()
		require.NoError(t, err)
		return v
	}
	z, ref := l.Admit(ctx, nil, 0, hold(0)) // a reservation of nothing: released, and left to expire
	require.Nil(t, ref)
	l.Release(ctx, z, true, 0, 0)
	_, ref = l.Admit(ctx, nil, 0, hold(0))
	require.Nil(t, ref)
	a, ref := l.Admit(ctx, nil, 0, hold(30))
	require.Nil(t, ref)
	b, ref := l.Admit(ctx, nil, 0, hold(20))
	require.Nil(t, ref)
	require.Equal(t, int64(50), sum())
	require.Equal(t, int64(50), l.Available(ctx, acct))
	l.Release(ctx, a, true, 0, 25)
	require.Equal(t, int64(20), sum())
	require.Equal(t, int64(55), l.Available(ctx, acct))

	// A lost sum is rebuilt from the reservations at the next admission.
	require.NoError(t, rdb.HDel(ctx, prefix+"{lim}:u1:c", "h").Err())
	c, ref := l.Admit(ctx, nil, 0, hold(60))
	require.Nil(t, ref, "20 held and 25 charged of 100 leave 55: the call reserves what is left")
	require.Equal(t, int64(75), sum())
	_, ref = l.Admit(ctx, nil, 0, hold(1))
	require.NotNil(t, ref, "nothing left")
	require.Equal(t, limits.KindBalance, ref.Kind)

	// Reservations nobody renews expire, and the sum loses them.
	require.Eventually(t, func() bool { return l.Available(ctx, acct) == 75 }, 10*time.Second, 50*time.Millisecond)
	_, ref = l.Admit(ctx, nil, 0, hold(5))
	require.Nil(t, ref)
	require.Equal(t, int64(5), sum(), "only the new reservation is held")
	require.Zero(t, l.Fallbacks(), "every script ran in Redis")
	l.Release(ctx, b, false, 0, 0)
	l.Release(ctx, c, false, 0, 0)
	require.Equal(t, int64(5), sum(), "an expired reservation released late changes nothing")
}

// TestReleaseLaterExact: calls that release through ReleaseLater (queued, sent in batches) over
// two instances sharing Redis, and in process, keep the ledger and the counters exact: a balance
// paying for 100 calls admits exactly 100 while a concurrency rule holds them to 8 at a time, and
// once the instances flush, the balance is exactly 0, nothing is in flight and the tokens are the
// real ones.
func TestReleaseLaterExact(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "redis", false: "memory"}[shared], func(t *testing.T) {
			t.Parallel()
			ls := instances(t, shared, 2)
			rules := []limits.Rule{{ID: 4, Scope: limits.ScopeUser, Model: "*", Window: time.Minute, Concurrency: 8, Tokens: 1 << 40}}
			cs := limits.Match(rules, limits.Who{User: 7}, "m")
			acct := limits.Account{Key: "u7", Kind: limits.KindBalance, Limit: 1000}
			h := func() *limits.Hold {
				return &limits.Hold{Amount: 10, Accounts: []limits.Account{acct},
					Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
			}
			var admitted, inFlight, most atomic.Int64
			var wg sync.WaitGroup
			for w := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := ls[w%2]
					for {
						tk, ref := l.Admit(context.Background(), cs, 3, h())
						if ref != nil {
							if ref.Kind == limits.KindBalance {
								return
							}
							continue // concurrency: try again
						}
						admitted.Add(1)
						n := inFlight.Add(1)
						for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
						}
						inFlight.Add(-1)
						l.ReleaseLater(tk, true, 5, 10)
					}
				}()
			}
			wg.Wait()
			for _, l := range ls {
				l.Flush(context.Background())
			}
			require.Equal(t, int64(100), admitted.Load())
			require.LessOrEqual(t, most.Load(), int64(8))
			for _, l := range ls {
				require.Equal(t, int64(0), l.Available(context.Background(), acct))
				u := l.Status(context.Background(), cs)[0]
				require.Equal(t, int64(0), u.Concurrency)
				require.Equal(t, int64(100*5), u.Tokens)
			}
		})
	}
}
