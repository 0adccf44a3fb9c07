package auth

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sessions stores cookie sessions and the JWT revocation list. RedisSessions shares them across
// instances; MemorySessions keeps them in one process.
type Sessions interface {
	// Create opens a session for the user and evicts the user's oldest sessions beyond maxDevices.
	Create(ctx context.Context, userID int64, ttl time.Duration, maxDevices int) (string, error)
	// Lookup returns the session's user.
	Lookup(ctx context.Context, id string) (userID int64, ok bool, err error)
	// Delete ends a session.
	Delete(ctx context.Context, id string) error
	// Revoke marks a JWT id as revoked until the token would have expired.
	Revoke(ctx context.Context, jti string, until time.Time) error
	// Revoked reports whether a JWT id was revoked.
	Revoked(ctx context.Context, jti string) (bool, error)
}

// MemorySessions is the in-process Sessions for a single instance without Redis.
type MemorySessions struct {
	mu       sync.Mutex
	now      func() time.Time
	sessions map[string]memSession
	revoked  map[string]time.Time
}

type memSession struct {
	user    int64
	created time.Time
	expires time.Time
}

// NewMemorySessions makes an empty store; now may be nil for time.Now.
func NewMemorySessions(now func() time.Time) *MemorySessions {
	if now == nil {
		now = time.Now
	}
	return &MemorySessions{now: now, sessions: map[string]memSession{}, revoked: map[string]time.Time{}}
}

// Create implements Sessions.
func (m *MemorySessions) Create(_ context.Context, userID int64, ttl time.Duration, maxDevices int) (string, error) {
	id := randomToken(32)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.gc(now)
	m.sessions[id] = memSession{user: userID, created: now, expires: now.Add(ttl)}
	if maxDevices > 0 {
		var mine []string
		for sid, s := range m.sessions {
			if s.user == userID {
				mine = append(mine, sid)
			}
		}
		if len(mine) > maxDevices {
			sort.Slice(mine, func(i, j int) bool {
				a, b := m.sessions[mine[i]], m.sessions[mine[j]]
				if a.created.Equal(b.created) {
					return mine[i] != id && mine[j] == id
				}
				return a.created.Before(b.created)
			})
			for _, sid := range mine[:len(mine)-maxDevices] {
				delete(m.sessions, sid)
			}
		}
	}
	return id, nil
}

func (m *MemorySessions) gc(now time.Time) {
	for id, s := range m.sessions {
		if !now.Before(s.expires) {
			delete(m.sessions, id)
		}
	}
	for j, t := range m.revoked {
		if !now.Before(t) {
			delete(m.revoked, j)
		}
	}
}

// Lookup implements Sessions.
func (m *MemorySessions) Lookup(_ context.Context, id string) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !m.now().Before(s.expires) {
		return 0, false, nil
	}
	return s.user, true, nil
}

// Delete implements Sessions.
func (m *MemorySessions) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

// Revoke implements Sessions.
func (m *MemorySessions) Revoke(_ context.Context, jti string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revoked[jti] = until
	return nil
}

// Revoked implements Sessions.
func (m *MemorySessions) Revoked(_ context.Context, jti string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.revoked[jti]
	return ok && m.now().Before(t), nil
}

// RedisSessions keeps sessions in Redis so every instance sees them: `<prefix>sess:<id>` holds the
// user id with a TTL and `<prefix>usess:<user>` is a sorted set of the user's sessions by creation
// time, trimmed atomically to the device limit.
type RedisSessions struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisSessions makes a store on a Redis client with a key prefix.
func NewRedisSessions(rdb redis.UniversalClient, prefix string) *RedisSessions {
	return &RedisSessions{rdb: rdb, prefix: prefix}
}

// createScript: KEYS[1]=session key, KEYS[2]=user set; ARGV: user id, ttl ms, max devices,
// session id, session key prefix. Sessions are scored by Redis's own clock in microseconds, so
// every instance orders them alike; the oldest beyond the limit are deleted, never the session
// being created (several sessions may share a timestamp).
var createScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])), ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', now - ttl * 1000))
redis.call('PEXPIRE', KEYS[2], ttl)
local max = tonumber(ARGV[3])
if max > 0 then
  local excess = redis.call('ZCARD', KEYS[2]) - max
  if excess > 0 then
    for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
      if excess == 0 then break end
      if sid ~= ARGV[4] then
        redis.call('DEL', ARGV[5] .. sid)
        redis.call('ZREM', KEYS[2], sid)
        excess = excess - 1
      end
    end
  end
end
return 1`)

// Create implements Sessions.
func (r *RedisSessions) Create(ctx context.Context, userID int64, ttl time.Duration, maxDevices int) (string, error) {
	id := randomToken(32)
	uid := strconv.FormatInt(userID, 10)
	err := createScript.Run(ctx, r.rdb, []string{r.prefix + "sess:" + id, r.prefix + "usess:" + uid},
		uid, ttl.Milliseconds(), maxDevices, id, r.prefix+"sess:").Err()
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return id, nil
}

// Lookup implements Sessions.
func (r *RedisSessions) Lookup(ctx context.Context, id string) (int64, bool, error) {
	v, err := r.rdb.Get(ctx, r.prefix+"sess:"+id).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lookup session: %w", err)
	}
	uid, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, nil
	}
	return uid, true, nil
}

// Delete implements Sessions.
func (r *RedisSessions) Delete(ctx context.Context, id string) error {
	key := r.prefix + "sess:" + id
	v, err := r.rdb.GetDel(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return r.rdb.ZRem(ctx, r.prefix+"usess:"+v, id).Err()
}

// Revoke implements Sessions.
func (r *RedisSessions) Revoke(ctx context.Context, jti string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	return r.rdb.Set(ctx, r.prefix+"jti:"+jti, "1", ttl).Err()
}

// Revoked implements Sessions.
func (r *RedisSessions) Revoked(ctx context.Context, jti string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.prefix+"jti:"+jti).Result()
	if err != nil {
		return false, fmt.Errorf("check revocation: %w", err)
	}
	return n > 0, nil
}
