package quota

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestStoresAgree drives the in-process store and the Redis script through the same steps on one
// fake clock: recovery is continuous, loses no fractions under frequent calls, and both stores
// answer the same.
func TestStoresAgree(t *testing.T) {
	t.Parallel()
	ms := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC).UnixMilli()
	now := func() time.Time { return time.UnixMilli(ms) }
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(context.Background()).Err())
	prefix := "test:quota:" + time.Now().Format("150405.000000000") + ":"
	stores := map[string]store{"memory": newMemStore(now), "redis": &redisStore{rdb: rdb, prefix: prefix, now: func() int64 { return ms }}}
	p := params{Cap: 3, Recovery: time.Hour.Milliseconds()}
	ctx := context.Background()
	for name, s := range stores {
		ms = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC).UnixMilli()
		for range 3 {
			ok, _, err := s.take(ctx, "u", 1, p)
			require.NoError(t, err, name)
			require.True(t, ok, name)
		}
		ok, wait, err := s.take(ctx, "u", 1, p)
		require.NoError(t, err)
		require.False(t, ok, name)
		require.Equal(t, (20 * time.Minute).Milliseconds(), wait, name)
		// Reads every second for 20 minutes: one unit has recovered exactly then.
		for range 20*60 - 1 {
			ms += 1000
			b, _, err := s.read(ctx, "u", p)
			require.NoError(t, err)
			require.EqualValues(t, 3, b.Used, name)
		}
		ms += 1000
		b, at, err := s.read(ctx, "u", p)
		require.NoError(t, err)
		require.EqualValues(t, 2, b.Used, name)
		require.Equal(t, (40 * time.Minute).Milliseconds(), b.untilBelow(0, at, p), name)
		// A served call given back; an adjustment never goes below zero.
		require.NoError(t, s.adjust(ctx, "u", -5, p))
		b, _, err = s.read(ctx, "u", p)
		require.NoError(t, err)
		require.EqualValues(t, 0, b.Used, name)
		// A cap of 0 refuses for good.
		ok, wait, err = s.take(ctx, "z", 1, params{Cap: 0, Recovery: p.Recovery})
		require.NoError(t, err)
		require.False(t, ok)
		require.EqualValues(t, -1, wait, name)
	}
}
