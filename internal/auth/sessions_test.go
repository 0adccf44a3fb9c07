package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
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

var sessionSeq atomic.Int64

// sess makes a session of the user created at t, living ttl.
func sess(uid int64, t time.Time, ttl time.Duration) *auth.Session {
	return &auth.Session{ID: "s" + strconv.FormatInt(sessionSeq.Add(1), 10), UserID: uid, CreatedAt: t, LastSeenAt: t,
		ExpiresAt: t.Add(ttl), IP: "203.0.113.7", UserAgent: "test", Method: auth.MethodPassword}
}

func ids(list []auth.Session) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func TestSessionsLifecycle(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		now := time.Now()
		a := sess(1, now, time.Hour)
		evicted, err := s.Create(ctx, a, 5)
		require.NoError(t, err)
		require.Empty(t, evicted)
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, a.ID, got.ID)
		require.Equal(t, int64(1), got.UserID)
		require.Equal(t, "203.0.113.7", got.IP)
		require.Equal(t, auth.MethodPassword, got.Method)
		require.WithinDuration(t, a.ExpiresAt, got.ExpiresAt, time.Millisecond)

		later := now.Add(time.Minute)
		require.NoError(t, s.Touch(ctx, a.ID, later, later.Add(time.Hour)))
		got, err = s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.WithinDuration(t, later, got.LastSeenAt, time.Millisecond)
		require.WithinDuration(t, later.Add(time.Hour), got.ExpiresAt, time.Millisecond)

		missing, err := s.Get(ctx, "nope")
		require.NoError(t, err)
		require.Nil(t, missing)
		require.NoError(t, s.Touch(ctx, "nope", later, later.Add(time.Hour)), "touching a gone session is no error")
		missing, err = s.Get(ctx, "nope")
		require.NoError(t, err)
		require.Nil(t, missing, "and does not bring it back")

		ok, err := s.Delete(ctx, 2, a.ID)
		require.NoError(t, err)
		require.False(t, ok, "another user's session is not found")
		ok, err = s.Delete(ctx, 1, a.ID)
		require.NoError(t, err)
		require.True(t, ok)
		got, err = s.Get(ctx, a.ID)
		require.NoError(t, err)
		require.Nil(t, got)
	})
}

func TestSessionsDeviceLimit(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		now := time.Now()
		var all []*auth.Session
		for i := range 4 {
			x := sess(7, now.Add(time.Duration(i)*time.Millisecond), time.Hour)
			all = append(all, x)
			evicted, err := s.Create(ctx, x, 3)
			require.NoError(t, err)
			if i == 3 {
				require.Equal(t, []string{all[0].ID}, evicted, "the oldest goes")
			} else {
				require.Empty(t, evicted)
			}
			time.Sleep(2 * time.Millisecond) // Redis orders by its own clock
		}
		list, err := s.List(ctx, 7)
		require.NoError(t, err)
		require.Equal(t, []string{all[3].ID, all[2].ID, all[1].ID}, ids(list), "newest first")
		_, err = s.Create(ctx, sess(8, now, time.Hour), 1)
		require.NoError(t, err)
		list, err = s.List(ctx, 7)
		require.NoError(t, err)
		require.Len(t, list, 3, "another user's sessions do not count")

		ended, err := s.DeleteUser(ctx, 7, all[2].ID)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{all[1].ID, all[3].ID}, ended)
		list, err = s.List(ctx, 7)
		require.NoError(t, err)
		require.Equal(t, []string{all[2].ID}, ids(list))
		ended, err = s.DeleteUser(ctx, 7, "")
		require.NoError(t, err)
		require.Equal(t, []string{all[2].ID}, ended)
		ended, err = s.DeleteUser(ctx, 7, "")
		require.NoError(t, err)
		require.Empty(t, ended)
	})
}

// TestSessionsNewestSurvives creates more sessions than the limit at once: whatever the order,
// the user keeps exactly the limit.
func TestSessionsNewestSurvives(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s auth.Sessions) {
		ctx := context.Background()
		now := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				x := sess(9, now, time.Hour)
				evicted, err := s.Create(ctx, x, 3)
				assert(t, err == nil)
				for _, id := range evicted {
					assert(t, id != x.ID) // never the session being created
				}
			})
		}
		wg.Wait()
		list, err := s.List(ctx, 9)
		require.NoError(t, err)
		require.Len(t, list, 3)
	})
}

func assert(t *testing.T, ok bool) {
	t.Helper()
	if !ok {
		t.Error("assertion failed")
	}
}

func TestMemorySessionsExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := auth.NewMemorySessions(clk.Now)
	a := sess(1, clk.Now(), time.Hour)
	_, err := s.Create(ctx, a, 5)
	require.NoError(t, err)
	clk.Add(time.Hour - time.Nanosecond)
	got, err := s.Get(ctx, a.ID)
	require.NoError(t, err)
	require.NotNil(t, got)
	clk.Add(time.Nanosecond)
	got, err = s.Get(ctx, a.ID)
	require.NoError(t, err)
	require.Nil(t, got)
	list, err := s.List(ctx, 1)
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestRedisSessionsExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRedis(t)
	s := auth.NewRedisSessions(r.rdb, r.prefix)
	a := sess(1, time.Now(), 300*time.Millisecond)
	_, err := s.Create(ctx, a, 5)
	require.NoError(t, err)
	keys, err := r.rdb.Keys(ctx, r.prefix+"*").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{r.prefix + "sess:" + a.ID, r.prefix + "usess:1"}, keys)
	for _, k := range keys {
		ttl, err := r.rdb.PTTL(ctx, k).Result()
		require.NoError(t, err)
		require.Positive(t, ttl, "%s expires by itself", k)
	}
	require.Eventually(t, func() bool {
		got, err := s.Get(ctx, a.ID)
		require.NoError(t, err)
		return got == nil
	}, 3*time.Second, 20*time.Millisecond)
	// A new session drops the expired one from the user's set.
	b := sess(1, time.Now(), time.Hour)
	_, err = s.Create(ctx, b, 5)
	require.NoError(t, err)
	members, err := r.rdb.ZRange(ctx, r.prefix+"usess:1", 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{b.ID}, members)
}

func TestRedisSessionsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	s := auth.NewRedisSessions(rdb, "pgtest:down:")
	_, err := s.Create(ctx, sess(1, time.Now(), time.Hour), 1)
	require.ErrorContains(t, err, "create session")
	_, err = s.Get(ctx, "x")
	require.ErrorContains(t, err, "get session")
	_, err = s.Delete(ctx, 1, "x")
	require.ErrorContains(t, err, "delete session")
	_, err = s.DeleteUser(ctx, 1, "")
	require.ErrorContains(t, err, "end sessions")
	_, err = s.List(ctx, 1)
	require.ErrorContains(t, err, "list sessions")
	require.ErrorContains(t, s.Touch(ctx, "x", time.Now(), time.Now()), "touch session")
	l := auth.NewRedisLimiter(rdb, "pgtest:down:")
	_, err = l.Take(ctx, "k", 1, time.Minute, time.Now())
	require.ErrorContains(t, err, "rate limit")
	e := auth.NewRedisEphemeral(rdb, "pgtest:down:")
	_, _, err = e.Take(ctx, "k")
	require.Error(t, err)
}

// limiters runs fn against each Limiter implementation.
func limiters(t *testing.T, fn func(t *testing.T, l auth.Limiter)) {
	t.Helper()
	t.Run("Memory", func(t *testing.T) {
		t.Parallel()
		fn(t, auth.NewMemoryLimiter())
	})
	t.Run("Redis", func(t *testing.T) {
		t.Parallel()
		r := newRedis(t)
		fn(t, auth.NewRedisLimiter(r.rdb, r.prefix))
	})
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	limiters(t, func(t *testing.T, l auth.Limiter) {
		ctx := context.Background()
		t0 := time.Now()
		w := 15 * time.Minute
		for i := range 3 {
			d, err := l.Wait(ctx, "k", 3, w, t0)
			require.NoError(t, err)
			require.Zero(t, d)
			require.NoError(t, l.Hit(ctx, "k", w, t0.Add(time.Duration(i)*time.Minute)))
		}
		// Full: room again when the oldest event leaves the window.
		d, err := l.Wait(ctx, "k", 3, w, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Equal(t, 10*time.Minute, d)
		d, err = l.Wait(ctx, "k", 3, w, t0.Add(w))
		require.NoError(t, err)
		require.Zero(t, d)
		d, err = l.Wait(ctx, "other", 3, w, t0)
		require.NoError(t, err)
		require.Zero(t, d, "keys are counted apart")
		require.NoError(t, l.Reset(ctx, "k"))
		d, err = l.Wait(ctx, "k", 3, w, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Zero(t, d)

		// Take records only when there is room.
		for range 2 {
			d, err := l.Take(ctx, "t", 2, time.Hour, t0)
			require.NoError(t, err)
			require.Zero(t, d)
		}
		d, err = l.Take(ctx, "t", 2, time.Hour, t0.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, 59*time.Minute, d)
		d, err = l.Take(ctx, "t", 2, time.Hour, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Zero(t, d, "the refused take was not recorded")
	})
}

func TestLimiterConcurrentTakes(t *testing.T) {
	t.Parallel()
	limiters(t, func(t *testing.T, l auth.Limiter) {
		var granted atomic.Int64
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				d, err := l.Take(context.Background(), "burst", 5, time.Hour, time.Now())
				assert(t, err == nil)
				if d == 0 {
					granted.Add(1)
				}
			})
		}
		wg.Wait()
		require.Equal(t, int64(5), granted.Load())
	})
}

func TestEphemeral(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(t *testing.T) auth.Ephemeral{
		"Memory": func(*testing.T) auth.Ephemeral { return auth.NewMemoryEphemeral(nil) },
		"Redis": func(t *testing.T) auth.Ephemeral {
			r := newRedis(t)
			return auth.NewRedisEphemeral(r.rdb, r.prefix)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := mk(t)
			ctx := context.Background()
			require.NoError(t, e.Put(ctx, "state", []byte("v"), time.Minute))
			var wins atomic.Int64
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					v, ok, err := e.Take(ctx, "state")
					assert(t, err == nil)
					if ok {
						assert(t, string(v) == "v")
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			require.Equal(t, int64(1), wins.Load(), "a value is taken once")
		})
	}
	clk := newClock()
	m := auth.NewMemoryEphemeral(clk.Now)
	require.NoError(t, m.Put(context.Background(), "short", []byte("v"), time.Minute))
	clk.Add(time.Minute)
	_, ok, err := m.Take(context.Background(), "short")
	require.NoError(t, err)
	require.False(t, ok, "values expire")
	r := newRedis(t)
	require.NoError(t, auth.NewRedisEphemeral(r.rdb, r.prefix).Put(context.Background(), "short", []byte("v"), time.Minute))
	ttl, err := r.rdb.PTTL(context.Background(), r.prefix+"eph:short").Result()
	require.NoError(t, err)
	require.InDelta(t, time.Minute, ttl, float64(5*time.Second))
}
