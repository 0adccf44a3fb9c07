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

// createScript: KEYS[1]=session key, KEYS[2]=user set; ARGV: user id, ttl ms, now ms, max devices,
// session id, session key prefix. Evicted sessions are deleted.
var createScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local max = tonumber(ARGV[4])
if max > 0 then
  local n = redis.call('ZCARD', KEYS[2])
  if n > max then
    local old = redis.call('ZRANGE', KEYS[2], 0, n - max - 1)
    for _, sid in ipairs(old) do
      redis.call('DEL', ARGV[6] .. sid)
      redis.call('ZREM', KEYS[2], sid)
    end
  end
end
return 1`)

// Create implements Sessions.
func (r *RedisSessions) Create(ctx context.Context, userID int64, ttl time.Duration, maxDevices int) (string, error) {
	id := randomToken(32)
	uid := strconv.FormatInt(userID, 10)
	err := createScript.Run(ctx, r.rdb, []string{r.prefix + "sess:" + id, r.prefix + "usess:" + uid},
		uid, ttl.Milliseconds(), time.Now().UnixMilli(), maxDevices, id, r.prefix+"sess:").Err()
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
