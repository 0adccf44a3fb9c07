package limits_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// busyScript keeps Redis busy for ARGV[1] microseconds: every other client waits meanwhile, as
// when the server or the machine is overloaded.
var busyScript = redis.NewScript(`
local t0 = redis.call('TIME')
local start = tonumber(t0[1]) * 1000000 + tonumber(t0[2])
repeat
  local t = redis.call('TIME')
until tonumber(t[1]) * 1000000 + tonumber(t[2]) - start >= tonumber(ARGV[1])
return 1
`)

// TestSlowRedisExact: a Redis that answers later than the clients' read timeout — so go-redis
// resends each script, and the limiter sends it again — is slow, not dead: two instances still
// admit exactly 60 of 200 calls under a 60/3h rule and reserve exactly 50 of 300 calls on a
// balance for 50, every release counts once (the balance ends at exactly 0), and nothing is
// counted in process.
func TestSlowRedisExact(t *testing.T) {
	t.Parallel()
	port := testsvc.FreePort(t)
	throwawayRedis(t, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var ls []*limits.Limiter
	for range 2 {
		// A read timeout far below how long the server stays busy: most scripts time out at
		// least once and are sent again.
		rdb := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 20 * time.Millisecond, PoolSize: 8})
		t.Cleanup(func() { _ = rdb.Close() })
		ls = append(ls, limits.New(limits.Config{Redis: rdb, Prefix: "slow:"}))
	}
	blocker := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 10 * time.Second})
	t.Cleanup(func() { _ = blocker.Close() })
	ctx := context.Background()

	// slow keeps the server busy for four stretches of 150 ms, back to back, while the calls
	// run; wait returns once they are over.
	slow := func() (wait func()) {
		var wg sync.WaitGroup
		require.NoError(t, busyScript.Run(ctx, blocker, nil, 1000).Err()) // the blocker's connection is up
		wg.Go(func() {
			for range 4 {
				if err := busyScript.Run(ctx, blocker, nil, 150_000).Err(); err != nil {
					t.Errorf("busy script: %v", err)
					return
				}
			}
		})
		return wg.Wait
	}

	rules := []limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*", Window: 3 * time.Hour, Requests: 60}}
	cs := limits.Match(rules, limits.Who{User: 7}, "gpt-4o")
	stop := slow()
	ok, refused := admitMany(t, ls, cs, 200, 0)
	stop()
	require.Len(t, ok, 60)
	require.Len(t, refused, 140)
	require.Equal(t, int64(60), ls[0].Status(ctx, cs)[0].Requests)

	stop = slow()
	held, short := reserveMany(ls, 300, func() *limits.Hold { return userHold(10, 500, 0, func() int64 { return 0 }) })
	require.Len(t, held, 50)
	require.Len(t, short, 250)
	var wg sync.WaitGroup
	for i, tk := range held {
		wg.Go(func() { ls[i%2].Release(ctx, tk, true, 0, 10) })
	}
	wg.Wait()
	stop()
	require.Equal(t, int64(0), ls[1].Available(ctx, userHold(0, 500, 0, nil).Accounts[0]), "every charge counted once")
	require.Zero(t, ls[0].Fallbacks()+ls[1].Fallbacks(), "a slow Redis is not a dead one")
}
