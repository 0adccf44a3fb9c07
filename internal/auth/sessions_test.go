package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/auth"
)

// clock is an injectable, settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// redisBundle is a Redis client on the local server and a key prefix of the test's own; the
// prefix's keys are deleted when the test ends.
type redisBundle struct {
	rdb    *redis.Client
	prefix string
}

func newRedis(t *testing.T) *redisBundle {
	t.Helper()
	opt, err := redis.ParseURL(redisURL())
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	ctx := context.Background()
	require.NoError(t, rdb.Ping(ctx).Err(), "tests need the local Redis at %s", redisURL())
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "pgtest:auth:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	return &redisBundle{rdb: rdb, prefix: prefix}
}

// stores runs fn against each Sessions implementation.
func stores(t *testing.T, fn func(t *testing.T, s auth.Sessions)) {
	t.Helper()
	t.Run("Memory", func(t *testing.T) {
		t.Parallel()
		fn(t, auth.NewMemorySessions(nil))
	})
	t.Run("Redis", func(t *testing.T) {
		t.Parallel()
		r := newRedis(t)
		fn(t, auth.NewRedisSessions(r.rdb, r.prefix))
	})
}

func TestSessionsLifecycle(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		id, err := s.Create(ctx, 7, time.Hour, 5)
		require.NoError(t, err)
		require.Len(t, id, 32)
		other, err := s.Create(ctx, 7, time.Hour, 5)
		require.NoError(t, err)
		require.NotEqual(t, id, other)

		uid, ok, err := s.Lookup(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 7, uid)

		_, ok, err = s.Lookup(ctx, "no-such-session")
		require.NoError(t, err)
		require.False(t, ok)
		_, ok, err = s.Lookup(ctx, "")
		require.NoError(t, err)
		require.False(t, ok)

		require.NoError(t, s.Delete(ctx, id))
		_, ok, err = s.Lookup(ctx, id)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, s.Delete(ctx, id), "deleting twice is fine")
		require.NoError(t, s.Delete(ctx, "no-such-session"))

		_, ok, err = s.Lookup(ctx, other)
		require.NoError(t, err)
		require.True(t, ok, "deleting one session leaves the user's others")
	})
}

func TestSessionsDeviceLimit(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		alive := func(id string) bool {
			t.Helper()
			_, ok, err := s.Lookup(ctx, id)
			require.NoError(t, err)
			return ok
		}
		create := func(user int64, max int) string {
			t.Helper()
			id, err := s.Create(ctx, user, time.Hour, max)
			require.NoError(t, err)
			return id
		}
		a1 := create(1, 2)
		time.Sleep(2 * time.Millisecond)
		a2 := create(1, 2)
		time.Sleep(2 * time.Millisecond)
		b1 := create(2, 2)
		time.Sleep(2 * time.Millisecond)
		a3 := create(1, 2)
		require.False(t, alive(a1), "the oldest session is evicted")
		require.True(t, alive(a2))
		require.True(t, alive(a3))
		require.True(t, alive(b1), "another user's sessions do not count")

		// A deleted session frees its slot.
		require.NoError(t, s.Delete(ctx, a2))
		a4 := create(1, 2)
		require.True(t, alive(a3))
		require.True(t, alive(a4))

		// No limit.
		var many []string
		for range 10 {
			many = append(many, create(3, 0))
		}
		for _, id := range many {
			require.True(t, alive(id))
		}
	})
}

// TestSessionsNewestSurvives creates sessions faster than the clock ticks: the session just
// created is never the one evicted, whatever the tie between equal creation times.
func TestSessionsNewestSurvives(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		prev := ""
		for i := range 200 {
			id, err := s.Create(ctx, 9, time.Hour, 1)
			require.NoError(t, err)
			uid, ok, err := s.Lookup(ctx, id)
			require.NoError(t, err)
			require.True(t, ok, "session %d was evicted as soon as it was created", i)
			require.EqualValues(t, 9, uid)
			if prev != "" {
				_, ok, err = s.Lookup(ctx, prev)
				require.NoError(t, err)
				require.False(t, ok, "session %d outlived the device limit", i-1)
			}
			prev = id
		}
	})
}

func TestSessionsRevocation(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		revoked := func(jti string) bool {
			t.Helper()
			ok, err := s.Revoked(ctx, jti)
			require.NoError(t, err)
			return ok
		}
		require.False(t, revoked("jti-1"))
		require.NoError(t, s.Revoke(ctx, "jti-1", time.Now().Add(time.Hour)))
		require.True(t, revoked("jti-1"))
		require.False(t, revoked("jti-2"))
		require.NoError(t, s.Revoke(ctx, "jti-1", time.Now().Add(time.Hour)), "revoking twice is fine")
		// A token that has already expired needs no entry.
		require.NoError(t, s.Revoke(ctx, "jti-3", time.Now().Add(-time.Second)))
		require.False(t, revoked("jti-3"))
	})
}

func TestMemorySessionsExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := auth.NewMemorySessions(clk.Now)
	id, err := s.Create(ctx, 1, time.Hour, 5)
	require.NoError(t, err)
	require.NoError(t, s.Revoke(ctx, "jti", clk.Now().Add(time.Hour)))

	clk.Add(time.Hour - time.Nanosecond)
	_, ok, err := s.Lookup(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	rev, err := s.Revoked(ctx, "jti")
	require.NoError(t, err)
	require.True(t, rev)

	clk.Add(time.Nanosecond)
	_, ok, err = s.Lookup(ctx, id)
	require.NoError(t, err)
	require.False(t, ok, "a session ends at its expiry")
	rev, err = s.Revoked(ctx, "jti")
	require.NoError(t, err)
	require.False(t, rev, "a revocation ends when the token would have expired")

	// Expired sessions do not count against the device limit.
	clk.Add(time.Minute)
	a, err := s.Create(ctx, 2, time.Minute, 1)
	require.NoError(t, err)
	clk.Add(2 * time.Minute)
	b, err := s.Create(ctx, 2, time.Hour, 1)
	require.NoError(t, err)
	_, ok, _ = s.Lookup(ctx, a)
	require.False(t, ok)
	_, ok, _ = s.Lookup(ctx, b)
	require.True(t, ok)
}

func TestMemorySessionsConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := auth.NewMemorySessions(nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id, err := s.Create(ctx, int64(w%2), time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				_, _, _ = s.Lookup(ctx, id)
				_ = s.Revoke(ctx, strconv.Itoa(w*100+i), time.Now().Add(time.Hour))
				_, _ = s.Revoked(ctx, strconv.Itoa(i))
				if i%3 == 0 {
					_ = s.Delete(ctx, id)
				}
			}
		})
	}
	wg.Wait()
	// At most three sessions per user remain.
	for u := range int64(2) {
		n := 0
		for range 3 {
			id, err := s.Create(ctx, u, time.Hour, 3)
			require.NoError(t, err)
			_, ok, _ := s.Lookup(ctx, id)
			if ok {
				n++
			}
		}
		require.Equal(t, 3, n)
	}
}

func TestRedisSessionsExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRedis(t)
	s := auth.NewRedisSessions(r.rdb, r.prefix)
	id, err := s.Create(ctx, 1, 200*time.Millisecond, 5)
	require.NoError(t, err)
	require.NoError(t, s.Revoke(ctx, "jti", time.Now().Add(200*time.Millisecond)))
	_, ok, err := s.Lookup(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)

	// Every key the store writes expires by itself.
	keys, err := r.rdb.Keys(ctx, r.prefix+"*").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{r.prefix + "sess:" + id, r.prefix + "usess:1", r.prefix + "jti:jti"}, keys)
	for _, k := range keys {
		ttl, err := r.rdb.PTTL(ctx, k).Result()
		require.NoError(t, err)
		require.Positive(t, ttl, k)
		require.LessOrEqual(t, ttl, 200*time.Millisecond, k)
	}

	require.Eventually(t, func() bool {
		_, ok, err := s.Lookup(ctx, id)
		require.NoError(t, err)
		rev, err := s.Revoked(ctx, "jti")
		require.NoError(t, err)
		return !ok && !rev
	}, 2*time.Second, 20*time.Millisecond)
	n, err := r.rdb.Exists(ctx, keys...).Result()
	require.NoError(t, err)
	require.Zero(t, n, "nothing is left behind")
}

func TestRedisSessionsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRedis(t)
	s := auth.NewRedisSessions(r.rdb, r.prefix)
	a, err := s.Create(ctx, 4, time.Hour, 2)
	require.NoError(t, err)
	b, err := s.Create(ctx, 4, time.Hour, 2)
	require.NoError(t, err)
	members, err := r.rdb.ZRange(ctx, r.prefix+"usess:4", 0, -1).Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{a, b}, members)

	// Delete removes the session from the user's set, so it no longer takes a device slot.
	require.NoError(t, s.Delete(ctx, a))
	members, err = r.rdb.ZRange(ctx, r.prefix+"usess:4", 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{b}, members)

	// Another prefix is another store.
	other := auth.NewRedisSessions(r.rdb, r.prefix+"other:")
	_, ok, err := other.Lookup(ctx, b)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.Revoke(ctx, "j", time.Now().Add(time.Hour)))
	rev, err := other.Revoked(ctx, "j")
	require.NoError(t, err)
	require.False(t, rev)
}

func TestRedisSessionsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	s := auth.NewRedisSessions(rdb, "pgtest:down:")
	_, err := s.Create(ctx, 1, time.Hour, 1)
	require.ErrorContains(t, err, "create session")
	_, _, err = s.Lookup(ctx, "x")
	require.ErrorContains(t, err, "lookup session")
	require.ErrorContains(t, s.Delete(ctx, "x"), "delete session")
	require.Error(t, s.Revoke(ctx, "j", time.Now().Add(time.Hour)))
	_, err = s.Revoked(ctx, "j")
	require.ErrorContains(t, err, "check revocation")
}
