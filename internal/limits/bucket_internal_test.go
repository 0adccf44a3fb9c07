package limits

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// clock fixes the Redis store's now (its scripts' clock) and the in-process store's at one
// millisecond, so that tests can put calls exactly at a window's edge.
type clock struct {
	l   *Limiter
	ms  int64
	mem *memStore // the in-process store on the same clock
}

func newClock(t *testing.T, l *Limiter) *clock {
	t.Helper()
	c := &clock{l: l, ms: 1_800_000_000_000}
	c.mem = newMemStore(func() time.Time { return time.UnixMilli(c.ms) })
	c.set(c.ms)
	return c
}

func (c *clock) set(ms int64) {
	c.ms = ms
	c.l.rds.scripts = redisScripts.at(ms)
}

// admit admits calls in one batch (one script call: they share its now, hence a bucket).
func (c *clock) admit(t *testing.T, ts ...*Ticket) []*Refusal {
	t.Helper()
	as := make([]*admission, len(ts))
	for i, tk := range ts {
		as[i] = &admission{t: tk, init: true}
	}
	require.NoError(t, c.l.rds.admitBatch(context.Background(), newID(), as))
	refs := make([]*Refusal, len(ts))
	for i, a := range as {
		require.NoError(t, a.err)
		refs[i] = a.ref
	}
	return refs
}

func (c *clock) release(t *testing.T, q ...pending) {
	t.Helper()
	require.NoError(t, c.l.rds.releaseBatch(context.Background(), q))
}

func (c *clock) status(t *testing.T, cs []Counter) []Usage {
	t.Helper()
	u, err := c.l.rds.status(context.Background(), cs)
	require.NoError(t, err)
	return u
}

func tickets(cs []Counter, n int, est int64) []*Ticket {
	out := make([]*Ticket, n)
	for i := range out {
		out[i] = &Ticket{ID: newID(), Estimate: est, counters: cs}
	}
	return out
}

// TestBucketSharedRelease: the calls of one admission batch share one bucket (one member in the
// window's set, whatever the number of calls); releasing one of them unserved takes exactly its
// request back, and its release sent again (alone, or twice in one batch) changes nothing; a
// served call's estimate is replaced by its real tokens within the shared bucket, once.
func TestBucketSharedRelease(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t)
	ctx := context.Background()
	rules := []Rule{{ID: 1, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 10, Tokens: 10000}}
	cs := Match(rules, Who{User: 1}, "m")
	c := newClock(t, l)
	ts := tickets(cs, 5, 100)
	for _, ref := range c.admit(t, ts...) {
		require.Nil(t, ref)
	}
	k, t0 := l.rds.prefix+cs[0].Key, strconv.FormatInt(c.ms, 10)
	require.Equal(t, int64(1), rdb.ZCard(ctx, k+":r").Val(), "one bucket for the batch")
	bucket := func() (int64, int64) {
		v, err := rdb.HMGet(ctx, k+":t", "r"+t0, "t"+t0).Result()
		require.NoError(t, err)
		r, _ := strconv.ParseInt(v[0].(string), 10, 64)
		x, _ := strconv.ParseInt(v[1].(string), 10, 64)
		return r, x
	}
	r, x := bucket()
	require.Equal(t, [2]int64{5, 500}, [2]int64{r, x})
	c.set(c.ms + 500)
	require.Equal(t, Usage{Requests: 5, Tokens: 500, ClearsIn: time.Minute - 500*time.Millisecond}, c.status(t, cs)[0])

	unserved := pending{t: ts[0], served: false}
	c.release(t, unserved)
	require.Equal(t, Usage{Requests: 4, Tokens: 400, ClearsIn: time.Minute - 500*time.Millisecond}, c.status(t, cs)[0])
	c.release(t, unserved)
	c.release(t, unserved, unserved)
	require.Equal(t, Usage{Requests: 4, Tokens: 400, ClearsIn: time.Minute - 500*time.Millisecond}, c.status(t, cs)[0],
		"the same release again changes nothing")

	served := pending{t: ts[1], served: true, tokens: 30}
	c.release(t, served, pending{t: ts[2], served: true, tokens: 0}, served)
	require.Equal(t, Usage{Requests: 4, Tokens: 230, ClearsIn: time.Minute - 500*time.Millisecond}, c.status(t, cs)[0],
		"100 → 30 and 100 → 0, each once")
	c.release(t, served)
	r, x = bucket()
	require.Equal(t, [2]int64{4, 230}, [2]int64{r, x})
	st, err := rdb.HMGet(ctx, k+":m", "n", "s", "f").Result()
	require.NoError(t, err)
	require.Equal(t, []any{"4", "230", "2"}, st, "the state follows the bucket; two calls still in flight")

	// Four counted: six more fit, then the rule is full.
	refs := c.admit(t, tickets(cs, 7, 1)...)
	for _, ref := range refs[:6] {
		require.Nil(t, ref)
	}
	require.NotNil(t, refs[6])
	require.Equal(t, int64(10), c.status(t, cs)[0].Requests)
}

// TestBucketWindowEdge: a bucket counts until exactly its start + window: one millisecond before,
// a full rule refuses (clears in 1 ms) and the status counts it; at the edge the bucket leaves,
// its requests and tokens with it, exactly.
func TestBucketWindowEdge(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t)
	rules := []Rule{{ID: 2, Scope: ScopeUser, Model: "*", Window: 10 * time.Second, Requests: 3, Tokens: 1000}}
	cs := Match(rules, Who{User: 1}, "m")
	c := newClock(t, l)
	t0 := c.ms
	for _, ref := range c.admit(t, tickets(cs, 2, 100)...) {
		require.Nil(t, ref)
	}
	c.set(t0 + 4000)
	require.Nil(t, c.admit(t, tickets(cs, 1, 50)...)[0])
	c.set(t0 + 9999)
	require.Equal(t, Usage{Requests: 3, Tokens: 250, ClearsIn: time.Millisecond}, c.status(t, cs)[0])
	ref := c.admit(t, tickets(cs, 1, 1)...)[0]
	require.NotNil(t, ref)
	require.Equal(t, KindRequests, ref.Kind)
	require.Equal(t, time.Millisecond, ref.ClearsIn)
	c.set(t0 + 10000)
	require.Equal(t, Usage{Requests: 1, Tokens: 50, ClearsIn: 4 * time.Second}, c.status(t, cs)[0],
		"a bucket exactly at now − window has left")
	require.Nil(t, c.admit(t, tickets(cs, 1, 10)...)[0])
	k := l.rds.prefix + cs[0].Key
	require.Equal(t, []string{strconv.FormatInt(t0+4000, 10), strconv.FormatInt(t0+10000, 10)},
		rdb.ZRange(context.Background(), k+":r", 0, -1).Val(), "the pruned bucket is gone")
	require.Equal(t, int64(4), rdb.HLen(context.Background(), k+":t").Val())
	require.Equal(t, []any{"2", "60"}, rdb.HMGet(context.Background(), k+":m", "n", "s").Val())
}

// TestBucketClearsIn: a refusal's clears_in walks the buckets with their counts: for requests,
// the time the (n−limit+1)-th oldest call leaves, found inside a bucket of several calls; for
// tokens, the time enough of the oldest buckets' tokens leave for the estimate to fit.
func TestBucketClearsIn(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t)
	w := time.Minute
	c := newClock(t, l)
	t0 := c.ms
	wide := []Rule{{ID: 3, Scope: ScopeUser, Model: "*", Window: w, Requests: 100, Tokens: 100000}}
	cs := Match(wide, Who{User: 1}, "m")
	// Buckets: t0 two calls (100 tokens each), t0+10 three (200 each), t0+20 one (500).
	for i, b := range []struct {
		n   int
		est int64
	}{{2, 100}, {3, 200}, {1, 500}} {
		c.set(t0 + int64(10*i))
		for _, ref := range c.admit(t, tickets(cs, b.n, b.est)...) {
			require.Nil(t, ref)
		}
	}
	c.set(t0 + 30)
	// The same counter under tighter figures (the rule edited): six counted.
	for _, tc := range []struct {
		requests int64
		at       int64 // the bucket whose leaving frees a slot
	}{{6, t0}, {5, t0}, {4, t0 + 10}, {3, t0 + 10}, {2, t0 + 10}, {1, t0 + 20}} {
		rules := []Rule{{ID: 3, Scope: ScopeUser, Model: "*", Window: w, Requests: tc.requests}}
		ref := c.admit(t, tickets(Match(rules, Who{User: 1}, "m"), 1, 0)...)[0]
		require.NotNil(t, ref, "requests %d", tc.requests)
		require.Equal(t, KindRequests, ref.Kind)
		require.Equal(t, time.Duration(tc.at+w.Milliseconds()-c.ms)*time.Millisecond, ref.ClearsIn, "requests %d", tc.requests)
	}
	for _, tc := range []struct {
		tokens, est int64
		at          int64
	}{{1300, 100, t0}, {1300, 200, t0}, {1300, 300, t0 + 10}, {1300, 800, t0 + 10}, {1300, 900, t0 + 20}, {1200, 100, t0},
		{1200, 200, t0 + 10}} {
		rules := []Rule{{ID: 3, Scope: ScopeUser, Model: "*", Window: w, Tokens: tc.tokens}}
		ref := c.admit(t, tickets(Match(rules, Who{User: 1}, "m"), 1, tc.est)...)[0]
		require.NotNil(t, ref, "tokens %d est %d", tc.tokens, tc.est)
		require.Equal(t, KindTokens, ref.Kind)
		require.Equal(t, time.Duration(tc.at+w.Milliseconds()-c.ms)*time.Millisecond, ref.ClearsIn, "tokens %d est %d", tc.tokens, tc.est)
	}
}

// TestBucketLongCall: a call that runs longer than the concurrency lease stops counting as in
// flight once a prune sees its lease passed, but its entry stays while its start is in the window:
// its release still replaces its estimate by its real tokens (more than estimated here) and is
// still applied once. A call whose start has left the window changes nothing at release.
func TestBucketLongCall(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t)
	c := newClock(t, l)
	t0 := c.ms
	lease := (15 * time.Minute).Milliseconds()
	rules := []Rule{{ID: 4, Scope: ScopeUser, Model: "*", Window: time.Hour, Tokens: 100000, Concurrency: 5}}
	cs := Match(rules, Who{User: 1}, "m")
	long := tickets(cs, 1, 100)[0]
	require.Nil(t, c.admit(t, long)[0])
	c.set(t0 + lease + 1)
	short := tickets(cs, 1, 10)[0]
	require.Nil(t, c.admit(t, short)[0]) // prunes (a quarter window since the last): the lease has passed
	u := c.status(t, cs)[0]
	require.Equal(t, int64(110), u.Tokens)
	require.Equal(t, int64(1), u.Concurrency, "the long call's lease has passed")
	done := pending{t: long, served: true, tokens: 700}
	c.release(t, done)
	c.release(t, done)
	u = c.status(t, cs)[0]
	require.Equal(t, int64(710), u.Tokens, "the estimate replaced by more tokens, once")
	require.Equal(t, int64(1), u.Concurrency)

	w := Match([]Rule{{ID: 5, Scope: ScopeUser, Model: "*", Window: time.Minute, Tokens: 1000}}, Who{User: 1}, "m")
	gone := tickets(w, 1, 100)[0]
	require.Nil(t, c.admit(t, gone)[0])
	c.set(c.ms + time.Minute.Milliseconds())
	c.release(t, pending{t: gone, served: true, tokens: 900})
	require.Equal(t, int64(0), c.status(t, w)[0].Tokens)
	require.Nil(t, c.admit(t, tickets(w, 1, 1000)...)[0], "nothing left in the window")
}

// TestBucketUpgrade: counters written by the previous format (a member per call: requests "id"
// and tokens "id:n" by start, the state without a version) are converted on first touch, by an
// admission, a status or a release, and count exactly what they held: nothing is forgotten.
func TestBucketUpgrade(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t)
	ctx := context.Background()
	c := newClock(t, l)
	t0 := c.ms
	w := time.Minute
	// old writes a counter as the previous version left it: calls at t0-50000 (2), t0-100 (1) and
	// t0-59999 (1, its tokens released: 40), one call in flight at t0-100 (estimate 300), and one
	// call that has left the window (t0-60000).
	old := func(key string, tokens, state bool) {
		k := l.rds.prefix + key
		require.NoError(t, rdb.ZAdd(ctx, k+":r", redis.Z{Score: float64(t0 - 60000), Member: "gone"},
			redis.Z{Score: float64(t0 - 59999), Member: "a"}, redis.Z{Score: float64(t0 - 50000), Member: "b"},
			redis.Z{Score: float64(t0 - 50000), Member: "c"}, redis.Z{Score: float64(t0 - 100), Member: "d"}).Err())
		if tokens {
			require.NoError(t, rdb.ZAdd(ctx, k+":t", redis.Z{Score: float64(t0 - 60000), Member: "gone:9"},
				redis.Z{Score: float64(t0 - 59999), Member: "a:40"}, redis.Z{Score: float64(t0 - 50000), Member: "b:5"},
				redis.Z{Score: float64(t0 - 50000), Member: "c:5"}, redis.Z{Score: float64(t0 - 100), Member: "d:300"}).Err())
		}
		require.NoError(t, rdb.ZAdd(ctx, k+":c", redis.Z{Score: float64(t0 + 800000), Member: "d"}).Err())
		if state {
			require.NoError(t, rdb.HSet(ctx, k+":m", "n", 5, "k", 5, "s", 359, "f", 1, "p", t0-70000, "e", t0+200000).Err())
		}
		for _, sfx := range counterKeys {
			rdb.PExpire(ctx, k+sfx, time.Hour)
		}
	}
	rule := func(id int64, requests, tokens int64) []Counter {
		return Match([]Rule{{ID: id, Scope: ScopeUser, Model: "*", Window: w, Requests: requests, Tokens: tokens, Concurrency: 9}}, Who{User: 1}, "m")
	}

	// An admission converts: four requests in the window (of 6: two more fit), 350 tokens.
	a := rule(10, 6, 1000)
	old(a[0].Key, true, true)
	refs := c.admit(t, tickets(a, 3, 10)...)
	require.Nil(t, refs[0])
	require.Nil(t, refs[1])
	require.NotNil(t, refs[2])
	require.Equal(t, KindRequests, refs[2].Kind)
	require.Equal(t, time.Millisecond, refs[2].ClearsIn, "the oldest converted call leaves in 1 ms")
	require.Equal(t, Usage{Requests: 6, Tokens: 370, Concurrency: 3, ClearsIn: time.Millisecond}, c.status(t, a)[0])
	require.Equal(t, "hash", rdb.Type(ctx, l.rds.prefix+a[0].Key+":t").Val())

	// A status converts, with or without the old state; a counter of requests only has no token set.
	for i, tc := range []struct {
		tokens, state bool
		want          Usage
	}{
		{true, true, Usage{Requests: 4, Tokens: 350, Concurrency: 1, ClearsIn: time.Millisecond}},
		{true, false, Usage{Requests: 4, Tokens: 350, Concurrency: 1, ClearsIn: time.Millisecond}},
		{false, true, Usage{Requests: 4, Concurrency: 1, ClearsIn: time.Millisecond}},
	} {
		cs := rule(int64(20+i), 6, 1000)
		old(cs[0].Key, tc.tokens, tc.state)
		require.Equal(t, tc.want, c.status(t, cs)[0], "case %d", i)
		require.Equal(t, tc.want, c.status(t, cs)[0], "case %d, converted", i)
		c.set(t0 + 1) // the oldest call leaves: three counted, three more fit
		ref := c.admit(t, tickets(cs, 4, 10)...)
		require.Equal(t, []bool{true, true, true, false}, []bool{ref[0] == nil, ref[1] == nil, ref[2] == nil, ref[3] == nil}, "case %d", i)
		c.set(t0)
	}

	// A release converts too (a call of the new format on a counter an old instance wrote).
	r := rule(30, 6, 1000)
	nt := tickets(r, 1, 100)[0]
	require.Nil(t, c.admit(t, nt)[0])
	k := l.rds.prefix + r[0].Key
	require.NoError(t, rdb.Del(ctx, k+":r", k+":t", k+":m").Err())
	old(r[0].Key, true, true)
	require.NoError(t, rdb.ZAdd(ctx, k+":c", redis.Z{Score: float64(t0 + 900000), Member: nt.ID}).Err())
	require.NoError(t, rdb.ZAdd(ctx, k+":r", redis.Z{Score: float64(t0), Member: nt.ID}).Err())
	require.NoError(t, rdb.ZAdd(ctx, k+":t", redis.Z{Score: float64(t0), Member: nt.ID + ":100"}).Err())
	c.release(t, pending{t: nt, served: false})
	require.Equal(t, Usage{Requests: 4, Tokens: 350, Concurrency: 1, ClearsIn: time.Millisecond}, c.status(t, r)[0])
}

// TestBucketsAsInProcess: random batches of admissions and releases (served or not, sent again,
// twice in a batch) on several counters, some calls under lower limits (an edited rule), with the clock moving by 0 to 1.5 s or to a bucket's
// exact edge, answer in Redis what the in-process store answers for the same calls one after the
// other — every refusal's kind and clears_in, every status (used, in flight, clears_in).
func TestBucketsAsInProcess(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t)
	c := newClock(t, l)
	ctx := context.Background()
	rules := []Rule{
		{ID: 1, Scope: ScopeUser, Model: "*", Window: 10 * time.Second, Requests: 8, Tokens: 900, Concurrency: 4},
		{ID: 2, Scope: ScopeGlobal, Model: "*", Window: 3 * time.Second, Requests: 12},
		{ID: 3, Scope: ScopeKey, Model: "*", Window: 7 * time.Second, Tokens: 500},
		{ID: 4, Scope: ScopeUser, Model: "*", Window: 5 * time.Second, Concurrency: 3},
	}
	// The same rules with lower limits (an administrator's edit, seen by some calls and not by
	// others): refusals then come with many more calls or tokens in the window than allowed.
	tight := slices.Clone(rules)
	tight[0].Requests, tight[0].Tokens, tight[1].Requests, tight[2].Tokens = 3, 200, 4, 100
	whos := []Who{{User: 1, Key: 1}, {User: 1, Key: 2}, {User: 2, Key: 3}}
	var counters []Counter
	for _, w := range whos {
		counters = append(counters, Applying(rules, w)...)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	type live struct{ r, m *Ticket }
	var running []live
	var starts []int64
	refused := map[string]int{}
	for step := range 600 {
		switch x := rng.IntN(10); {
		case x < 4 || len(starts) == 0:
			c.set(c.ms + int64(rng.IntN(1500)))
		case x < 5:
			w := rules[rng.IntN(len(rules))].Window.Milliseconds()
			c.set(max(c.ms, starts[rng.IntN(len(starts))]+w-int64(rng.IntN(2))))
		}
		var rs, ms []*Ticket
		for range 1 + rng.IntN(5) {
			w, est, id, rl := whos[rng.IntN(len(whos))], int64(1+rng.IntN(300)), newID(), rules
			if rng.IntN(4) == 0 {
				rl = tight
			}
			rs = append(rs, &Ticket{ID: id, Estimate: est, counters: Match(rl, w, "m")})
			ms = append(ms, &Ticket{ID: id, Estimate: est, counters: Match(rl, w, "m")})
		}
		refs := c.admit(t, rs...)
		for i, m := range ms {
			ref, err := c.mem.admit(ctx, m, false)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint(ref), fmt.Sprint(refs[i]), "step %d call %d", step, i)
			if ref != nil {
				refused[ref.Kind]++
			} else {
				require.Equal(t, m.Start, rs[i].Start)
				running = append(running, live{rs[i], m})
				starts = append(starts, m.Start)
			}
		}
		var q []pending
		for len(running) > 0 && rng.IntN(3) > 0 {
			i := rng.IntN(len(running))
			x := running[i]
			running = append(running[:i], running[i+1:]...)
			served, tokens := rng.IntN(4) > 0, int64(rng.IntN(400))
			q = append(q, pending{t: x.r, served: served, tokens: tokens})
			if rng.IntN(5) == 0 {
				q = append(q, q[len(q)-1])
			}
			require.NoError(t, c.mem.release(ctx, x.m, served, tokens, 0))
		}
		if len(q) > 0 {
			c.release(t, q...)
			if rng.IntN(4) == 0 {
				c.release(t, q...)
			}
		}
		want, err := c.mem.status(ctx, counters)
		require.NoError(t, err)
		require.Equal(t, want, c.status(t, counters), "step %d", step)
		for _, cn := range counters {
			consistent(t, l, cn.Key)
		}
	}
	require.Greater(t, refused[KindRequests], 10)
	require.Greater(t, refused[KindTokens], 10)
	require.Greater(t, refused[KindConcurrency], 10)
}

// consistent checks a counter's state against its buckets: n and s their sums (those that left
// the window included, until a prune), k their number (two fields each).
func consistent(t *testing.T, l *Limiter, key string) {
	t.Helper()
	ctx := context.Background()
	k := l.rds.prefix + key
	st := l.rds.rdb.HGetAll(ctx, k+":m").Val()
	if len(st) == 0 {
		return
	}
	var n, s int64
	for f, v := range l.rds.rdb.HGetAll(ctx, k+":t").Val() {
		x, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		if f[0] == 'r' {
			n += x
		} else {
			s += x
		}
	}
	buckets := l.rds.rdb.ZCard(ctx, k+":r").Val()
	require.Equal(t, 2*buckets, l.rds.rdb.HLen(ctx, k+":t").Val(), key)
	require.Equal(t, []string{strconv.FormatInt(n, 10), strconv.FormatInt(s, 10), strconv.FormatInt(buckets, 10)},
		[]string{st["n"], st["s"], st["k"]}, key)
}
