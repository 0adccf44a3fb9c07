package pool

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore shares the pool's state between instances through Redis. Times come from the
// caller's clock (so an injected clock governs cooldowns and windows), never from Redis.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisStore makes a store whose keys start with prefix + "pool:".
func NewRedisStore(rdb redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{rdb: rdb, prefix: prefix + "pool:"}
}

var _ Store = (*RedisStore)(nil)

// Cooldowns live in one hash, field "account|model", value the end in Unix milliseconds.
func (r *RedisStore) coolKey() string { return r.prefix + "cool" }

var setCooldown = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`)

// SetCooldown implements Store; a later end wins over an earlier one.
func (r *RedisStore) SetCooldown(ctx context.Context, account int64, model string, until time.Time) error {
	return setCooldown.Run(ctx, r.rdb, []string{r.coolKey()}, coolField(account, model), until.UnixMilli()).Err()
}

// ClearCooldowns implements Store.
func (r *RedisStore) ClearCooldowns(ctx context.Context, account int64) error {
	all, err := r.rdb.HGetAll(ctx, r.coolKey()).Result()
	if err != nil {
		return err
	}
	pre := strconv.FormatInt(account, 10) + "|"
	var fields []string
	for f := range all {
		if strings.HasPrefix(f, pre) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return r.rdb.HDel(ctx, r.coolKey(), fields...).Err()
}

// Cooldowns implements Store and drops the ended ones.
func (r *RedisStore) Cooldowns(ctx context.Context, now time.Time) ([]Cooldown, error) {
	all, err := r.rdb.HGetAll(ctx, r.coolKey()).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Cooldown, 0, len(all))
	var ended []string
	for f, v := range all {
		acc, model, ok := strings.Cut(f, "|")
		id, err1 := strconv.ParseInt(acc, 10, 64)
		ms, err2 := strconv.ParseInt(v, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			ended = append(ended, f)
			continue
		}
		until := time.UnixMilli(ms)
		if !until.After(now) {
			ended = append(ended, f)
			continue
		}
		out = append(out, Cooldown{Account: id, Model: model, Until: until})
	}
	if len(ended) > 0 {
		_ = r.rdb.HDel(ctx, r.coolKey(), ended...).Err()
	}
	return out, nil
}

// Leases are a sorted set per account: member the lease id, score its start in milliseconds.
var acquire = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[4]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

func (r *RedisStore) leaseKey(account int64) string {
	return r.prefix + "lease:" + strconv.FormatInt(account, 10)
}

// Acquire implements Store.
func (r *RedisStore) Acquire(ctx context.Context, account int64, limit int, id string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := acquire.Run(ctx, r.rdb, []string{r.leaseKey(account)}, limit, id, now.UnixMilli(), ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release implements Store.
func (r *RedisStore) Release(ctx context.Context, account int64, id string) error {
	return r.rdb.ZRem(ctx, r.leaseKey(account), id).Err()
}

// Bound implements Store.
func (r *RedisStore) Bound(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	v, err := r.rdb.GetEx(ctx, r.prefix+"sticky:"+key, ttl).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// Bind implements Store.
func (r *RedisStore) Bind(ctx context.Context, key string, account int64, ttl time.Duration) error {
	return r.rdb.Set(ctx, r.prefix+"sticky:"+key, account, ttl).Err()
}

// A window is a hash {count, reset (Unix ms)} that expires some time after its reset.
var hit = redis.NewScript(`
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset') or '0')
local now = tonumber(ARGV[1])
if now >= reset then
  reset = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'count', 0, 'reset', reset)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000)
end
local n = redis.call('HINCRBY', KEYS[1], 'count', 1)
return {n, reset}`)

func (r *RedisStore) windowKey(account int64, model string) string {
	return r.prefix + "win:" + coolField(account, model)
}

// Hit implements Store.
func (r *RedisStore) Hit(ctx context.Context, account int64, model string, window time.Duration, now time.Time) (int64, time.Time, error) {
	v, err := hit.Run(ctx, r.rdb, []string{r.windowKey(account, model)}, now.UnixMilli(), window.Milliseconds()).Int64Slice()
	if err != nil || len(v) != 2 {
		return 0, time.Time{}, err
	}
	return v[0], time.UnixMilli(v[1]), nil
}

// Window implements Store.
func (r *RedisStore) Window(ctx context.Context, account int64, model string, now time.Time) (int64, time.Time, error) {
	v, err := r.rdb.HMGet(ctx, r.windowKey(account, model), "count", "reset").Result()
	if err != nil || len(v) != 2 || v[0] == nil || v[1] == nil {
		return 0, time.Time{}, err
	}
	cs, _ := v[0].(string)
	rs, _ := v[1].(string)
	n, _ := strconv.ParseInt(cs, 10, 64)
	ms, _ := strconv.ParseInt(rs, 10, 64)
	reset := time.UnixMilli(ms)
	if !now.Before(reset) {
		return 0, time.Time{}, nil
	}
	return n, reset, nil
}
