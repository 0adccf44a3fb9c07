package limits

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// BenchmarkScripts runs the admission and the release script on batches of 1, 8 and 32 calls
// of poolbench's shape (one user, one `*` rule counting requests, tokens and concurrency, the
// user's balance reserved and charged) and reports the time Redis spent running each script per
// call (INFO commandstats: the script's own run, without the network, the event loop or the
// client), so that changes to the scripts' Lua are measured apart from everything else.
func BenchmarkScripts(b *testing.B) {
	rdb := benchRedis(b)
	ctx := context.Background()
	for _, n := range []int{1, 8, 32} {
		b.Run("calls="+strconv.Itoa(n), func(b *testing.B) {
			l, cs, acct := benchShape(rdb, "benchscripts")
			batch := func() ([]*admission, []pending) {
				as := make([]*admission, n)
				q := make([]pending, n)
				for i := range as {
					t := &Ticket{ID: newID(), Estimate: 120, counters: cs,
						hold: &Hold{Amount: 300, Accounts: []Account{acct}}}
					as[i] = &admission{t: t, init: true}
					q[i] = pending{t: t, served: true, tokens: 90, charge: 250}
				}
				return as, q
			}
			as, q := batch()
			require.NoError(b, l.rds.admitBatch(ctx, newID(), as))
			require.NoError(b, l.rds.releaseBatch(ctx, q))
			var admitUs, releaseUs float64
			b.ResetTimer()
			for range b.N {
				as, q := batch()
				u0 := evalshaUsec(b, rdb)
				require.NoError(b, l.rds.admitBatch(ctx, newID(), as))
				u1 := evalshaUsec(b, rdb)
				require.NoError(b, l.rds.releaseBatch(ctx, q))
				u2 := evalshaUsec(b, rdb)
				admitUs += u1 - u0
				releaseUs += u2 - u1
			}
			b.StopTimer()
			b.ReportMetric(admitUs/float64(b.N*n), "admit-µs/call")
			b.ReportMetric(releaseUs/float64(b.N*n), "release-µs/call")
			b.ReportMetric((admitUs+releaseUs)/float64(b.N), "µs/batch")
		})
	}
}

// BenchmarkEndedRecords runs the admission script on one flush's ended records of poolbench's
// shape (mode y: n calls admitted against allowances and ended, as one entry) and reports Redis's
// time running it per script and per call (INFO commandstats, as BenchmarkScripts).
func BenchmarkEndedRecords(b *testing.B) {
	rdb := benchRedis(b)
	ctx := context.Background()
	for _, n := range []int64{1, 16, 64} {
		b.Run("calls="+strconv.FormatInt(n, 10), func(b *testing.B) {
			l, cs, acct := benchShape(rdb, "benchended")
			flush := func() []*admission {
				t := &Ticket{ID: newID(), Estimate: 120, counters: cs, hold: &Hold{Amount: 300, Accounts: []Account{acct}}}
				p := &pending{t: t, kind: kindMerged, served: true, tokens: 90, charge: 250}
				a := &admission{t: t, rec: p}
				a.many.n = 1
				a.add(p)
				for range n - 1 {
					a.add(&pending{t: t, kind: kindMerged, served: true, tokens: 90, charge: 250})
				}
				return []*admission{a}
			}
			require.NoError(b, l.rds.admitBatch(ctx, newID(), flush()))
			var us float64
			b.ResetTimer()
			for range b.N {
				as := flush()
				u0 := evalshaUsec(b, rdb)
				require.NoError(b, l.rds.admitBatch(ctx, newID(), as))
				us += evalshaUsec(b, rdb) - u0
			}
			b.StopTimer()
			b.ReportMetric(us/float64(b.N), "µs/script")
			b.ReportMetric(us/float64(b.N*int(n)), "µs/call")
		})
	}
}

// benchRedis is the local Redis the script benchmarks run on (skipped without one).
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b.Cleanup(func() { _ = rdb.Close() })
	if rdb.Ping(context.Background()).Err() != nil {
		b.Skip("no Redis at 127.0.0.1:6379")
	}
	return rdb
}

// benchShape is a limiter on its own keys and poolbench's shape: one user, one `*` rule counting
// requests, tokens and concurrency far from its limits, the user's balance.
func benchShape(rdb *redis.Client, name string) (*Limiter, []Counter, Account) {
	l := New(Config{Redis: rdb, Prefix: name + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"})
	rules := []Rule{{ID: 1, Scope: ScopeUser, Model: "*", Window: time.Minute,
		Requests: 1 << 40, Tokens: 1 << 50, Concurrency: 1 << 20}}
	return l, Match(rules, Who{User: 1}, "m"), UserAccount(1, 1<<50, 0)
}

// evalshaUsec is the time Redis has spent running EVALSHA (INFO commandstats), in µs.
func evalshaUsec(b *testing.B, rdb *redis.Client) float64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	require.NoError(b, err)
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:"); ok {
			for _, f := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(f, "usec="); ok {
					x, err := strconv.ParseFloat(v, 64)
					require.NoError(b, err)
					return x
				}
			}
		}
	}
	return 0
}
