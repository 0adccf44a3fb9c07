package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ephemeral holds short-lived, single-use values: SSO states, binding tokens and passkey
// ceremonies. Take returns a value at most once, so a replayed state or challenge finds nothing.
type Ephemeral interface {
	// Put stores value under key for ttl.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Take returns and removes the value (ok false when missing or expired).
	Take(ctx context.Context, key string) (value []byte, ok bool, err error)
}

// MemoryEphemeral is the in-process Ephemeral.
type MemoryEphemeral struct {
	mu   sync.Mutex
	now  func() time.Time
	vals map[string]ephemeralValue
}

type ephemeralValue struct {
	v   []byte
	exp time.Time
}

// NewMemoryEphemeral makes an empty store; now may be nil for time.Now.
func NewMemoryEphemeral(now func() time.Time) *MemoryEphemeral {
	if now == nil {
		now = time.Now
	}
	return &MemoryEphemeral{now: now, vals: map[string]ephemeralValue{}}
}

// Put implements Ephemeral.
func (m *MemoryEphemeral) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, v := range m.vals {
		if !now.Before(v.exp) {
			delete(m.vals, k)
		}
	}
	m.vals[key] = ephemeralValue{v: value, exp: now.Add(ttl)}
	return nil
}

// Take implements Ephemeral.
func (m *MemoryEphemeral) Take(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[key]
	delete(m.vals, key)
	if !ok || !m.now().Before(v.exp) {
		return nil, false, nil
	}
	return v.v, true, nil
}

// RedisEphemeral keeps values in Redis under `<prefix>eph:<key>` so any instance can finish a
// ceremony another one began.
type RedisEphemeral struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisEphemeral makes a store on a Redis client with a key prefix.
func NewRedisEphemeral(rdb redis.UniversalClient, prefix string) *RedisEphemeral {
	return &RedisEphemeral{rdb: rdb, prefix: prefix}
}

// Put implements Ephemeral.
func (r *RedisEphemeral) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.rdb.Set(ctx, r.prefix+"eph:"+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Take implements Ephemeral.
func (r *RedisEphemeral) Take(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.rdb.GetDel(ctx, r.prefix+"eph:"+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("take %s: %w", key, err)
	}
	return v, true, nil
}
