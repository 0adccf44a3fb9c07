package limits

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestBatchResent: a batch of admissions and one of releases, each sent twice (as after a lost
// answer), count every call once: the resent admissions answer their first run's start and
// amount, and the resent releases change nothing (the charge is counted with the reservation it
// replaces, once).
func TestBatchResent(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	require.NoError(t, rdb.Ping(ctx).Err())
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	l := New(Config{Redis: rdb, Prefix: prefix})
	rules := []Rule{{ID: 7, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 5, Tokens: 1000, Concurrency: 3}}
	cs := Match(rules, Who{User: 9}, "m")
	acct := Account{Key: "u9", Kind: KindBalance, Limit: 1000}
	as := make([]*admission, 3)
	for i := range as {
		h := &Hold{Amount: 100, Accounts: []Account{acct}}
		as[i] = &admission{t: &Ticket{ID: newID(), Estimate: 50, counters: cs, hold: h}, init: true}
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as))
	first := make([]int64, len(as))
	for i, a := range as {
		require.NoError(t, a.err)
		require.Nil(t, a.ref)
		first[i] = a.t.Start
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as), "the same batch again")
	for i, a := range as {
		require.NoError(t, a.err)
		require.Nil(t, a.ref, "a resent admission is not refused on the slot its first run took")
		require.Equal(t, first[i], a.t.Start)
		require.Equal(t, int64(100), a.t.hold.Amount)
	}
	u := l.Status(ctx, cs)[0]
	require.Equal(t, Usage{Requests: 3, Tokens: 150, Concurrency: 3, ClearsIn: u.ClearsIn}, u)
	require.Equal(t, int64(700), l.Available(ctx, acct))
	_, ref := l.Admit(ctx, cs, 50, &Hold{Amount: 100, Accounts: []Account{acct}})
	require.NotNil(t, ref, "three in flight")
	require.Equal(t, KindConcurrency, ref.Kind)

	q := make([]pending, len(as))
	for i, a := range as {
		q[i] = pending{t: a.t, served: true, tokens: 20, charge: 40}
	}
	require.NoError(t, l.rds.releaseBatch(ctx, q))
	require.NoError(t, l.rds.releaseBatch(ctx, q), "the same releases again")
	u = l.Status(ctx, cs)[0]
	require.Equal(t, Usage{Requests: 3, Tokens: 60, Concurrency: 0, ClearsIn: u.ClearsIn}, u)
	require.Equal(t, int64(1000-3*40), l.Available(ctx, acct))
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		for _, a := range as {
			require.NotContains(t, k, a.t.ID, "no key per call")
		}
	}
}

// TestBatchIsolatesFailure: a call whose part of a batch fails in Redis (here its counter's state
// key holds another type) gets an error of its own; the others in the batch are admitted as usual.
func TestBatchIsolatesFailure(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	l := New(Config{Redis: rdb, Prefix: prefix})
	rules := []Rule{{ID: 3, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 10}}
	cs := Match(rules, Who{User: 1}, "m")
	bad := &admission{t: &Ticket{ID: newID(), counters: Match(rules, Who{User: 2}, "m")}}
	good := &admission{t: &Ticket{ID: newID(), counters: cs}}
	require.NoError(t, rdb.Set(ctx, prefix+"{lim}:"+bad.t.counters[0].Key+":m", "x", time.Minute).Err())
	require.NoError(t, l.rds.admitBatch(ctx, "b1", []*admission{bad, good}))
	require.ErrorIs(t, bad.err, errUnexpected)
	require.NoError(t, good.err)
	require.Nil(t, good.ref)
	require.Equal(t, int64(1), l.Status(ctx, cs)[0].Requests)
}
