package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter counts events per key in a sliding window (failed sign-ins, mails sent). RedisLimiter
// counts across instances; MemoryLimiter in one process. Times come from the caller's clock.
type Limiter interface {
	// Wait reports how long until key has room for another event under limit events per
	// window (0: room now).
	Wait(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (time.Duration, error)
	// Hit records an event.
	Hit(ctx context.Context, key string, window time.Duration, now time.Time) error
	// Take records an event if there is room, else reports the wait (atomically).
	Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (time.Duration, error)
	// Reset forgets a key's events.
	Reset(ctx context.Context, key string) error
}

// MemoryLimiter is the in-process Limiter.
type MemoryLimiter struct {
	mu     sync.Mutex
	events map[string][]time.Time
}

// NewMemoryLimiter makes an empty limiter.
func NewMemoryLimiter() *MemoryLimiter { return &MemoryLimiter{events: map[string][]time.Time{}} }

// prune drops events older than the window; the mutex is held.
func (m *MemoryLimiter) prune(key string, window time.Duration, now time.Time) []time.Time {
	ev := m.events[key]
	i := 0
	for i < len(ev) && !ev[i].After(now.Add(-window)) {
		i++
	}
	ev = ev[i:]
	if len(ev) == 0 {
		delete(m.events, key)
		return nil
	}
	m.events[key] = ev
	return ev
}

func wait(ev []time.Time, limit int, window time.Duration, now time.Time) time.Duration {
	if len(ev) < limit {
		return 0
	}
	// The event that must leave the window for room: the (len-limit)th oldest.
	return ev[len(ev)-limit].Add(window).Sub(now)
}

// Wait implements Limiter.
func (m *MemoryLimiter) Wait(_ context.Context, key string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return wait(m.prune(key, window, now), limit, window, now), nil
}

// Hit implements Limiter.
func (m *MemoryLimiter) Hit(_ context.Context, key string, window time.Duration, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[key] = append(m.prune(key, window, now), now)
	return nil
}

// Take implements Limiter.
func (m *MemoryLimiter) Take(_ context.Context, key string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := m.prune(key, window, now)
	if d := wait(ev, limit, window, now); d > 0 {
		return d, nil
	}
	m.events[key] = append(ev, now)
	return 0, nil
}

// Reset implements Limiter.
func (m *MemoryLimiter) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.events, key)
	return nil
}

// RedisLimiter keeps each key's events in a sorted set `<prefix>limit:<key>` scored by time.
type RedisLimiter struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisLimiter makes a limiter on a Redis client with a key prefix.
func NewRedisLimiter(rdb redis.UniversalClient, prefix string) *RedisLimiter {
	return &RedisLimiter{rdb: rdb, prefix: prefix}
}

// limitScript: KEYS[1]=the key's set; ARGV: now ms, window ms, limit (0: never record), record
// (1 to add an event when there is room), member. Returns the wait in ms (0: room).
var limitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if limit > 0 and n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], window)
end
return 0`)

func (r *RedisLimiter) run(ctx context.Context, key string, limit int, window time.Duration, now time.Time, record bool) (time.Duration, error) {
	rec := "0"
	if record {
		rec = "1"
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	ms, err := limitScript.Run(ctx, r.rdb, []string{r.prefix + "limit:" + key}, now.UnixMilli(), window.Milliseconds(),
		limit, rec, fmt.Sprintf("%d-%s", now.UnixNano(), hex.EncodeToString(b))).Int64()
	if err != nil {
		return 0, fmt.Errorf("rate limit: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Wait implements Limiter.
func (r *RedisLimiter) Wait(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	return r.run(ctx, key, limit, window, now, false)
}

// Hit implements Limiter.
func (r *RedisLimiter) Hit(ctx context.Context, key string, window time.Duration, now time.Time) error {
	_, err := r.run(ctx, key, 0, window, now, true)
	return err
}

// Take implements Limiter.
func (r *RedisLimiter) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	return r.run(ctx, key, limit, window, now, true)
}

// Reset implements Limiter.
func (r *RedisLimiter) Reset(ctx context.Context, key string) error {
	if err := r.rdb.Del(ctx, r.prefix+"limit:"+key).Err(); err != nil {
		return fmt.Errorf("rate limit reset: %w", err)
	}
	return nil
}
