package auth

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSessions keeps sessions in Redis so every instance sees them: `<prefix>sess:<id>` is a
// hash expiring with the session, and `<prefix>usess:<user>` a sorted set of the user's
// session ids by creation (Redis's own clock, so every instance orders them alike), trimmed
// atomically to the device limit.
type RedisSessions struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisSessions makes a store on a Redis client with a key prefix.
func NewRedisSessions(rdb redis.UniversalClient, prefix string) *RedisSessions {
	return &RedisSessions{rdb: rdb, prefix: prefix}
}

func (r *RedisSessions) key(id string) string { return r.prefix + "sess:" + id }
func (r *RedisSessions) userKey(uid int64) string {
	return r.prefix + "usess:" + strconv.FormatInt(uid, 10)
}

// createScript: KEYS[1]=session hash, KEYS[2]=user set; ARGV: id, user id, secret hash,
// created ms, expires ms, ip, user agent, method, max devices, session key prefix, set ttl ms.
// Members whose hash expired are dropped; then the oldest beyond the limit are deleted (never
// the session being created) and returned.
var createScript = redis.NewScript(`
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'u', ARGV[2], 'h', ARGV[3], 'c', ARGV[4], 's', ARGV[4], 'e', ARGV[5],
  'ip', ARGV[6], 'ua', ARGV[7], 'm', ARGV[8])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[11])
for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[10] .. sid) == 0 then redis.call('ZREM', KEYS[2], sid) end
end
local evicted = {}
local max = tonumber(ARGV[9])
if max > 0 then
  local excess = redis.call('ZCARD', KEYS[2]) - max
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if excess <= 0 then break end
    if sid ~= ARGV[1] then
      redis.call('DEL', ARGV[10] .. sid)
      redis.call('ZREM', KEYS[2], sid)
      table.insert(evicted, sid)
      excess = excess - 1
    end
  end
end
return evicted`)

// Create implements Sessions.
func (r *RedisSessions) Create(ctx context.Context, s *Session, maxDevices int) ([]string, error) {
	res, err := createScript.Run(ctx, r.rdb, []string{r.key(s.ID), r.userKey(s.UserID)},
		s.ID, s.UserID, hex.EncodeToString(s.secretHash), s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli(),
		s.IP, s.UserAgent, s.Method, maxDevices, r.prefix+"sess:", (MaxSessionLifetime + 24*time.Hour).Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return res, nil
}

// Get implements Sessions.
func (r *RedisSessions) Get(ctx context.Context, id string) (*Session, error) {
	m, err := r.rdb.HGetAll(ctx, r.key(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return parseSession(id, m), nil
}

func parseSession(id string, m map[string]string) *Session {
	if len(m) == 0 {
		return nil
	}
	uid, err := strconv.ParseInt(m["u"], 10, 64)
	if err != nil {
		return nil
	}
	ms := func(k string) time.Time {
		v, _ := strconv.ParseInt(m[k], 10, 64)
		return time.UnixMilli(v)
	}
	h, _ := hex.DecodeString(m["h"])
	return &Session{ID: id, UserID: uid, CreatedAt: ms("c"), LastSeenAt: ms("s"), ExpiresAt: ms("e"),
		IP: m["ip"], UserAgent: m["ua"], Method: m["m"], secretHash: h}
}

// touchScript updates a session that still exists: KEYS[1]=session hash; ARGV: last seen ms,
// expires ms.
var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`)

// Touch implements Sessions.
func (r *RedisSessions) Touch(ctx context.Context, id string, lastSeen, expires time.Time) error {
	if err := touchScript.Run(ctx, r.rdb, []string{r.key(id)}, lastSeen.UnixMilli(), expires.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// List implements Sessions.
func (r *RedisSessions) List(ctx context.Context, userID int64) ([]Session, error) {
	ids, err := r.rdb.ZRevRange(ctx, r.userKey(userID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, r.key(id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
	}
	out := make([]Session, 0, len(ids))
	for i, c := range cmds {
		if s := parseSession(ids[i], c.Val()); s != nil && s.UserID == userID {
			out = append(out, *s)
		}
	}
	return out, nil
}

// deleteScript: KEYS[1]=session hash, KEYS[2]=user set; ARGV: user id, session id.
var deleteScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'u') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`)

// Delete implements Sessions.
func (r *RedisSessions) Delete(ctx context.Context, userID int64, id string) (bool, error) {
	n, err := deleteScript.Run(ctx, r.rdb, []string{r.key(id), r.userKey(userID)}, userID, id).Int()
	if err != nil {
		return false, fmt.Errorf("delete session: %w", err)
	}
	return n == 1, nil
}

// deleteUserScript: KEYS[1]=user set; ARGV: session id to keep, session key prefix.
var deleteUserScript = redis.NewScript(`
local ended = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[1] then
    redis.call('DEL', ARGV[2] .. sid)
    redis.call('ZREM', KEYS[1], sid)
    table.insert(ended, sid)
  end
end
return ended`)

// DeleteUser implements Sessions.
func (r *RedisSessions) DeleteUser(ctx context.Context, userID int64, keep string) ([]string, error) {
	ids, err := deleteUserScript.Run(ctx, r.rdb, []string{r.userKey(userID)}, keep, r.prefix+"sess:").StringSlice()
	if err != nil {
		return nil, fmt.Errorf("end sessions: %w", err)
	}
	return ids, nil
}
