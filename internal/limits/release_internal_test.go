package limits

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReleaseLinger: a release lingers before it is sent, unless something needs it. With the
// linger made an hour long, a lone release stays out of Redis (the call still counts there in
// flight, its reservation held) until a Status, an Available or a Flush asks for the releases,
// which sends it at once; a release on a counter with few slots (tight) is sent at once by
// itself.
func TestReleaseLinger(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t)
	l.rel.lingerFor = time.Hour
	ctx := context.Background()
	wide := Match([]Rule{{ID: 1, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 1000, Concurrency: 100}},
		Who{User: 1}, "m")
	few := Match([]Rule{{ID: 2, Scope: ScopeUser, Model: "*", Window: time.Minute, Concurrency: releaseTight}},
		Who{User: 2}, "m")
	acct := Account{Key: "u1", Kind: KindBalance, Limit: 1000}
	inRedis := func(cs []Counter) Usage { // what Redis holds, not waiting for this instance's releases
		u, err := l.rds.status(ctx, cs)
		require.NoError(t, err)
		return u[0]
	}
	admit := func(cs []Counter, h *Hold) *Ticket {
		tk, ref := l.Admit(ctx, cs, 10, h)
		require.Nil(t, ref)
		return tk
	}

	for _, ask := range []struct {
		name string
		do   func()
	}{
		{"status", func() { require.Zero(t, l.Status(ctx, wide)[0].Concurrency) }},
		{"available", func() { l.Available(ctx, acct) }},
		{"flush", func() { l.Flush(ctx) }},
	} {
		tk := admit(wide, &Hold{Amount: 50, Accounts: []Account{acct}})
		l.ReleaseLater(tk, true, 3, 7)
		time.Sleep(50 * time.Millisecond)
		require.Equal(t, int64(1), inRedis(wide).Concurrency, "%s: the release lingers", ask.name)
		ask.do()
		require.Zero(t, inRedis(wide).Concurrency, "%s: asked for, the release is in", ask.name)
	}

	tk := admit(few, nil)
	l.ReleaseLater(tk, true, 0, 0)
	require.Eventually(t, func() bool { return inRedis(few).Concurrency == 0 }, 10*time.Second, 5*time.Millisecond,
		"a tight release goes at once")
}
