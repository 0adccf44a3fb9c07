package limits

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMemoryCountsAsItsCalls checks the in-process store's bucket sums against the calls
// themselves over a long run: thousands of buckets pruned (the bucket list compacted on the
// way), calls released served or not in any order, and a clock that now and then goes back (a
// bucket then goes where its start sorts). Every step, the counter's status is what its calls
// say: their requests and tokens in the window, those in flight, and when the oldest counted
// one leaves. (TestBucketsAsInProcess checks refusals and statuses against the Redis store.)
func TestMemoryCountsAsItsCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms := int64(1_800_000_000_000)
	m := newMemStore(func() time.Time { return time.UnixMilli(ms) })
	rule := &Rule{ID: 1, Scope: ScopeUser, Model: "*", Window: 2 * time.Second, Requests: 1 << 40, Tokens: 1 << 50,
		Concurrency: 1 << 20}
	w := rule.Window.Milliseconds()
	cs := []Counter{{Rule: rule, Key: "r1:u1"}}
	type call struct {
		t              *Ticket
		released, paid bool // paid: released served
		tokens         int64
	}
	var calls []*call
	var running []*call
	rng := rand.New(rand.NewPCG(3, 5))
	cut := int64(0) // what the store has pruned so far: starts at or before it no longer count
	for step := range 6000 {
		if rng.IntN(40) == 0 {
			ms -= int64(rng.IntN(6))
		} else {
			ms += int64(rng.IntN(4))
		}
		cut = max(cut, ms-w)
		for range rng.IntN(3) {
			tk := &Ticket{ID: newID(), Estimate: int64(1 + rng.IntN(50)), counters: cs}
			ref, err := m.admit(ctx, tk, false)
			require.NoError(t, err)
			require.Nil(t, ref)
			c := &call{t: tk}
			calls, running = append(calls, c), append(running, c)
		}
		for len(running) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(running))
			c := running[i]
			running = append(running[:i], running[i+1:]...)
			c.released, c.paid, c.tokens = true, rng.IntN(4) > 0, int64(rng.IntN(80))
			require.NoError(t, m.release(ctx, c.t, c.paid, c.tokens, 0))
		}
		var want Usage
		oldest := int64(-1)
		for _, c := range calls {
			if !c.released {
				want.Concurrency++
			}
			if c.t.Start <= cut || (c.released && !c.paid) {
				continue
			}
			want.Requests++
			toks := c.t.Estimate
			if c.released {
				toks = c.tokens
			}
			want.Tokens += toks
			if oldest < 0 || c.t.Start < oldest {
				oldest = c.t.Start
			}
		}
		if oldest >= 0 {
			want.ClearsIn = time.Duration(oldest+w-ms) * time.Millisecond
		}
		got, err := m.status(ctx, cs)
		require.NoError(t, err)
		require.Equal(t, []Usage{want}, got, "step %d", step)
	}
	c := m.c[cs[0].Key]
	require.NotNil(t, c)
	require.Less(t, len(c.buckets), 3000, "pruned buckets are dropped from the list")
}
