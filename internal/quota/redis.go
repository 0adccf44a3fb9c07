package quota

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps buckets in Redis (a hash of u = used, t = at per bucket), shared by every
// instance; one script call per operation makes it exact. Its clock is Redis's own (TIME) unless
// the pool runs on an injected clock.
type redisStore struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() int64 // 0: Redis's clock
}

// bucketScript: KEYS[1] the bucket; ARGV mode (take, adjust, read), now ms (0: TIME), cap,
// recovery ms, cost or delta. Returns {ok, used, at, now, wait ms}. It is bucket.step, take and
// adjust (bucket.go) in Lua.
var bucketScript = redis.NewScript(`
local mode, now, cap, rec, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local h = redis.call('HMGET', KEYS[1], 'u', 't')
local used, at = tonumber(h[1]) or 0, tonumber(h[2]) or now
if used <= 0 then
  used, at = 0, now
elseif cap > 0 and rec > 0 and now > at then
  local r = math.floor((now - at) * cap / rec)
  if r >= used then used, at = 0, now
  else used = used - r; at = at + math.floor(r * rec / cap) end
end
local ok, wait = 1, 0
if mode == 'take' then
  if used + 1 > cap then
    ok = 0
    if cap <= 0 or rec <= 0 then wait = -1
    else wait = math.max(math.ceil((used - cap + 1) * rec / cap) + at - now, 1) end
  else
    if used == 0 then at = now end
    used = used + n
  end
elseif mode == 'adjust' then
  if used == 0 and n > 0 then at = now end
  used = math.max(used + n, 0)
  if used == 0 then at = now end
end
if mode ~= 'read' then
  if used == 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'u', used, 't', at)
    local ttl = rec
    if cap > 0 then ttl = math.ceil(used * rec / cap) end
    redis.call('PEXPIRE', KEYS[1], ttl + (now - at) + 60000)
  end
end
return {ok, used, at, now, wait}
`)

func (s *redisStore) run(ctx context.Context, mode, key string, n int64, p params) ([]int64, error) {
	var now int64
	if s.now != nil {
		now = s.now()
	}
	res, err := bucketScript.Run(ctx, s.rdb, []string{s.prefix + key}, mode, now, p.Cap, p.Recovery, n).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 5 {
		return nil, errors.New("quota: unexpected script answer")
	}
	return res, nil
}

func (s *redisStore) take(ctx context.Context, key string, cost int64, p params) (bool, int64, error) {
	res, err := s.run(ctx, "take", key, cost, p)
	if err != nil {
		return false, 0, err
	}
	return res[0] == 1, res[4], nil
}

func (s *redisStore) adjust(ctx context.Context, key string, delta int64, p params) error {
	_, err := s.run(ctx, "adjust", key, delta, p)
	return err
}

func (s *redisStore) read(ctx context.Context, key string, p params) (bucket, int64, error) {
	res, err := s.run(ctx, "read", key, 0, p)
	if err != nil {
		return bucket{}, 0, err
	}
	return bucket{Used: res[1], At: res[2]}, res[3], nil
}
