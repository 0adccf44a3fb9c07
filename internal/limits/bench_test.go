package limits_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// BenchmarkRedisBatches admits and releases calls as the gateway does, one at a time (every
// script call then carries one call, as at concurrency 1) and at 16 and 64 concurrent callers
// (poolbench's shape: one user, one `*` rule with a 10 s window counting requests, tokens
// and concurrency far above the load, and the user's balance reserved and charged), on a Redis of
// its own so that no other client's work is counted. Beside ns/op and allocs/op it reports the
// Redis server's CPU per call (INFO cpu, user + system, before and after), this process's CPU per
// call (getrusage: the limiter, go-redis and the benchmark's goroutines), and how many calls a
// script call carried on average (admissions and releases together).
//
// The full/ variant first fills its window with 500k calls (admitted and released through the
// limiter by 256 callers, not timed), as poolbench's one-minute window holds ~500k calls at ~9k
// calls/s: that is where what a call adds to the window's sets costs most. Its window is ten
// minutes, so that none of them leaves it during the run.
func BenchmarkRedisBatches(b *testing.B) {
	port := testsvc.FreePort(b)
	throwawayRedis(b, port)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), PoolSize: 300})
	b.Cleanup(func() { _ = rdb.Close() })
	for _, callers := range []int{1, 16, 64} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			benchBatches(b, rdb, callers, 10*time.Second, 0, 0)
		})
	}
	// As under poolbench: each call holds its slot while its upstream answers (here 5 ms).
	b.Run("callers=64/answer=5ms", func(b *testing.B) {
		benchBatches(b, rdb, 64, 10*time.Second, 0, 5*time.Millisecond)
	})
	b.Run("full/callers=64", func(b *testing.B) {
		benchBatches(b, rdb, 64, 10*time.Minute, 500_000, 0)
	})
}

// filled says which benchmark prefixes have had their window filled (the sub-benchmark function
// runs once per b.N tried).
var filled sync.Map

func benchBatches(b *testing.B, rdb *redis.Client, callers int, window time.Duration, fill int, answer time.Duration) {
	ctx := context.Background()
	prefix := "bench" + strconv.Itoa(callers) + "w" + strconv.Itoa(fill) + ":" + rdb.Options().Addr + ":"
	l := limits.New(limits.Config{Redis: rdb, Prefix: prefix, NoAllowances: os.Getenv("POOLGATE_BENCH_NO_ALLOWANCES") != ""})
	rules := []limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*", Window: window,
		Requests: 1 << 40, Tokens: 1 << 50, Concurrency: 1 << 20}}
	cs := limits.Match(rules, limits.Who{User: 1}, "m")
	acct := limits.UserAccount(1, 1<<50, 0)
	hold := func() *limits.Hold {
		return &limits.Hold{Amount: 300, Accounts: []limits.Account{acct},
			Fresh: func(context.Context) ([]limits.Account, error) { return []limits.Account{acct}, nil }}
	}
	call := func() {
		t, ref := l.Admit(ctx, cs, 120, hold())
		if ref != nil {
			b.Errorf("refused: %+v", ref)
			return
		}
		if answer > 0 {
			time.Sleep(answer)
		}
		l.ReleaseLater(t, true, 90, 250)
	}
	call()
	l.Flush(ctx)
	if _, done := filled.LoadOrStore(prefix, true); !done && fill > 0 {
		var wg sync.WaitGroup
		var left atomic.Int64
		left.Store(int64(fill))
		for range 256 {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					call()
				}
			})
		}
		wg.Wait()
		l.Flush(ctx)
	}

	redis0, self0, cmds0 := redisCPU(b, rdb), selfCPU(), l.RedisCommands()
	b.ReportAllocs()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((callers + procs - 1) / procs)
	b.ResetTimer()
	if callers == 1 { // one call at a time: every batch is one call, as at concurrency 1
		for range b.N {
			call()
		}
	} else {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call()
			}
		})
	}
	l.Flush(ctx)
	b.StopTimer()
	b.ReportMetric((redisCPU(b, rdb)-redis0).Seconds()*1e6/float64(b.N), "redis-µs/call")
	b.ReportMetric((selfCPU()-self0).Seconds()*1e6/float64(b.N), "self-µs/call")
	b.ReportMetric(2*float64(b.N)/float64(l.RedisCommands()-cmds0), "calls/script")
	require.Zero(b, l.Fallbacks())
}

// redisCPU is the CPU time the Redis server has used (INFO cpu: user + system, all threads).
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	require.NoError(b, err)
	var sum float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(b, err)
			sum += f
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// selfCPU is the CPU time this process has used (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInProcess admits and releases calls as BenchmarkRedisBatches does, without Redis (one
// instance: the in-process store), at 64 concurrent callers, on a window that first holds
// 500,000 calls (as poolbench's one-minute window at ~9k calls/s): what an admission and a
// release cost must not grow with the calls the window holds.
func BenchmarkInProcess(b *testing.B) {
	for _, fill := range []int{0, 500_000} {
		b.Run("window="+strconv.Itoa(fill), func(b *testing.B) {
			ctx := context.Background()
			l := limits.New(limits.Config{})
			rules := []limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*", Window: 10 * time.Minute,
				Requests: 1 << 40, Tokens: 1 << 50, Concurrency: 1 << 20}}
			cs := limits.Match(rules, limits.Who{User: 1}, "m")
			acct := limits.UserAccount(1, 1<<50, 0)
			call := func() {
				t, ref := l.Admit(ctx, cs, 120, &limits.Hold{Amount: 300, Accounts: []limits.Account{acct}})
				if ref != nil {
					b.Errorf("refused: %+v", ref)
					return
				}
				l.ReleaseLater(t, true, 90, 250)
			}
			for range fill {
				call()
			}
			b.ReportAllocs()
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call()
				}
			})
		})
	}
}
