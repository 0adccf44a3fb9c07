package limits

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAllowanceLapses: an instance that takes an allowance and stops without giving it back (a
// crash: nothing of it is recorded) holds it until its lease; meanwhile the other instance admits
// exactly what is left. At the lease the allowance's requests count as started then (its calls
// may have run unrecorded), and its slots free.
func TestAllowanceLapses(t *testing.T) {
	t.Parallel()
	_, rdb := testLimiter(t)
	ctx := context.Background()
	lease := 2 * time.Second
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	crashed := New(Config{Redis: rdb, Prefix: prefix, HoldLease: lease})
	live := New(Config{Redis: rdb, Prefix: prefix, HoldLease: lease})

	rules := []Rule{{ID: 1, Scope: ScopeUser, Model: "*", Window: time.Hour, Requests: 80},
		{ID: 2, Scope: ScopeKey, Model: "*", Window: time.Hour, Concurrency: 80}}
	cs := Match(rules, Who{User: 1, Key: 1}, "m")
	require.Len(t, cs, 2)
	if cs[0].Rule.ID != 1 {
		cs[0], cs[1] = cs[1], cs[0] // requests first, slots second
	}
	// The crashed instance's allowance: an eighth of each (10 requests, 10 slots).
	got, err := crashed.rds.grant(ctx, &grantAsk{cs: []grantCounter{
		{key: cs[0].Key, rule: *cs[0].Rule, want: [3]int64{10, 0, 0}, least: [3]int64{8, 0, 0}},
		{key: cs[1].Key, rule: *cs[1].Rule, want: [3]int64{0, 0, 10}, least: [3]int64{0, 0, 8}}}})
	require.NoError(t, err)
	require.Equal(t, [][3]int64{{10, 0, 0}, {0, 0, 10}}, got)

	admit := func(n int) (ok []*Ticket) {
		for range n {
			if tk, ref := live.Admit(ctx, cs, 0, nil); ref == nil {
				ok = append(ok, tk)
			}
		}
		return ok
	}
	held := admit(100)
	require.Len(t, held, 70, "what the crashed instance's allowance leaves")
	live.Flush(ctx)
	u := live.Status(ctx, cs)
	require.Equal(t, int64(70), u[0].Requests, "an allowance is not usage")
	require.Equal(t, int64(70), u[1].Concurrency)

	time.Sleep(lease + 50*time.Millisecond)
	// The requests rule now counts the lapsed allowance's 10 as started: still nothing left.
	require.Empty(t, admit(5))
	live.Flush(ctx)
	require.Equal(t, int64(80), live.Status(ctx, cs)[0].Requests)
	// Its slots are free: with the requests given back by unserved calls, 10 more run at once.
	for _, tk := range held[:20] {
		live.ReleaseLater(tk, false, 0, 0)
	}
	live.Flush(ctx)
	require.Len(t, admit(30), 20, "20 requests back; 80 - 50 = 30 slots free")
	live.Flush(ctx)
	require.Equal(t, int64(70), live.Status(ctx, cs)[1].Concurrency)
}
