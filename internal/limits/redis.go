package limits

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps counters in Redis, shared by every instance. Each counter is three keys: a
// sorted set of admitted calls by start (requests), one of token entries "id:n" by start (an
// in-flight call's entry holds its estimate), and one of calls in flight by lease expiry. All
// keys carry the hash tag {lim}, so one call's script runs on one slot of a Redis Cluster. Times
// come from Redis (TIME), so instances' clocks never disagree.
type redisStore struct {
	rdb    redis.UniversalClient
	prefix string
	lease  time.Duration
}

// Shared Lua helpers: now in milliseconds; the token sum of a window; when est fits.
const luaHelpers = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function tokens(key)
  local s, es = 0, redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local out = {}
  for j = 1, #es, 2 do
    local n = tonumber(string.match(es[j], ':(%d+)$')) or 0
    s = s + n
    out[#out + 1] = {n, tonumber(es[j + 1])}
  end
  return s, out
end
local function fits(used, est, limit)
  return used < limit and (used == 0 or used + est <= limit)
end
`

// admitScript: KEYS per counter (req, tok, conc); ARGV id, estimate, lease ms, then per counter
// window ms, requests, tokens, concurrency. Returns {1, now} or {0, refused index, kind, clears ms}.
var admitScript = redis.NewScript(luaHelpers + `
local id, est, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #KEYS / 3
local refused, kind, clears = 0, '', 0
for i = 0, n - 1 do
  local w, rq, tk, cc = tonumber(ARGV[4+i*4]), tonumber(ARGV[5+i*4]), tonumber(ARGV[6+i*4]), tonumber(ARGV[7+i*4])
  local kr, kt, kc = KEYS[1+i*3], KEYS[2+i*3], KEYS[3+i*3]
  local k, c = '', 0
  if rq > 0 then
    redis.call('ZREMRANGEBYSCORE', kr, '-inf', now - w)
    local cnt = redis.call('ZCARD', kr)
    if cnt >= rq then
      local e = redis.call('ZRANGE', kr, cnt - rq, cnt - rq, 'WITHSCORES')
      k, c = 'requests', tonumber(e[2]) + w - now
    end
  end
  if k == '' and tk > 0 then
    redis.call('ZREMRANGEBYSCORE', kt, '-inf', now - w)
    local used, es = tokens(kt)
    if not fits(used, est, tk) then
      k, c = 'tokens', 1000
      table.sort(es, function(a, b) return a[2] < b[2] end)
      for _, e in ipairs(es) do
        used = used - e[1]
        if fits(used, est, tk) then c = e[2] + w - now; break end
      end
    end
  end
  if k == '' and cc > 0 then
    redis.call('ZREMRANGEBYSCORE', kc, '-inf', now)
    if redis.call('ZCARD', kc) >= cc then k, c = 'concurrency', 1000 end
  end
  if k ~= '' then
    if refused == 0 then refused, kind = i + 1, k end
    if c > clears then clears = c end
  end
end
if refused > 0 then return {0, refused, kind, clears} end
for i = 0, n - 1 do
  local w, rq, tk, cc = tonumber(ARGV[4+i*4]), tonumber(ARGV[5+i*4]), tonumber(ARGV[6+i*4]), tonumber(ARGV[7+i*4])
  local kr, kt, kc = KEYS[1+i*3], KEYS[2+i*3], KEYS[3+i*3]
  if rq > 0 then redis.call('ZADD', kr, now, id); redis.call('PEXPIRE', kr, w) end
  if tk > 0 then redis.call('ZADD', kt, now, id .. ':' .. est); redis.call('PEXPIRE', kt, w) end
  if cc > 0 then redis.call('ZADD', kc, now + lease, id); redis.call('PEXPIRE', kc, lease) end
end
return {1, now}
`)

// releaseScript: KEYS per counter (req, tok, conc); ARGV id, start ms, estimate, served (0/1),
// tokens, then per counter window ms. The estimate's token entry becomes the real count.
var releaseScript = redis.NewScript(`
local id, start, est, served, used = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
for i = 0, #KEYS / 3 - 1 do
  local w = tonumber(ARGV[6+i])
  local kr, kt, kc = KEYS[1+i*3], KEYS[2+i*3], KEYS[3+i*3]
  redis.call('ZREM', kc, id)
  if not served then redis.call('ZREM', kr, id) end
  if redis.call('ZREM', kt, id .. ':' .. est) == 1 and served and used > 0 then
    redis.call('ZADD', kt, start, id .. ':' .. used)
    redis.call('PEXPIRE', kt, w)
  end
end
return 1
`)

// statusScript: KEYS per counter (req, tok, conc); ARGV per counter window ms. Returns per counter
// requests, tokens, in flight, clears ms.
var statusScript = redis.NewScript(luaHelpers + `
local out = {}
for i = 0, #KEYS / 3 - 1 do
  local w = tonumber(ARGV[1+i])
  local kr, kt, kc = KEYS[1+i*3], KEYS[2+i*3], KEYS[3+i*3]
  local oldest = -1
  local r = redis.call('ZRANGEBYSCORE', kr, '(' .. (now - w), '+inf', 'WITHSCORES')
  if #r > 0 then oldest = tonumber(r[2]) end
  local es = redis.call('ZRANGEBYSCORE', kt, '(' .. (now - w), '+inf', 'WITHSCORES')
  local s = 0
  for j = 1, #es, 2 do
    s = s + (tonumber(string.match(es[j], ':(%d+)$')) or 0)
    local at = tonumber(es[j + 1])
    if oldest < 0 or at < oldest then oldest = at end
  end
  local clears = 0
  if oldest >= 0 then clears = oldest + w - now end
  out[#out + 1] = #r / 2
  out[#out + 1] = s
  out[#out + 1] = redis.call('ZCOUNT', kc, '(' .. now, '+inf')
  out[#out + 1] = clears
end
return out
`)

func (s *redisStore) keys(cs []Counter) []string {
	ks := make([]string, 0, 3*len(cs))
	for i := range cs {
		k := s.prefix + cs[i].Key
		ks = append(ks, k+":r", k+":t", k+":c")
	}
	return ks
}

func (s *redisStore) admit(ctx context.Context, t *Ticket) (*Refusal, error) {
	args := make([]any, 0, 3+4*len(t.counters))
	args = append(args, t.ID, t.Estimate, s.lease.Milliseconds())
	for i := range t.counters {
		r := t.counters[i].Rule
		args = append(args, r.Window.Milliseconds(), r.Requests, r.Tokens, r.Concurrency)
	}
	res, err := admitScript.Run(ctx, s.rdb, s.keys(t.counters), args...).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) == 2 && res[0] == int64(1) {
		t.Start, _ = res[1].(int64)
		return nil, nil
	}
	if len(res) != 4 {
		return nil, errors.New("limits: unexpected admit answer")
	}
	idx, _ := res[1].(int64)
	kind, _ := res[2].(string)
	clears, _ := res[3].(int64)
	if idx < 1 || int(idx) > len(t.counters) {
		return nil, errors.New("limits: unexpected admit answer")
	}
	return refuse(nil, &t.counters[idx-1], kind, clears), nil
}

func (s *redisStore) release(ctx context.Context, t *Ticket, served bool, tokens int64) error {
	sv := "0"
	if served {
		sv = "1"
	}
	args := make([]any, 0, 5+len(t.counters))
	args = append(args, t.ID, t.Start, strconv.FormatInt(t.Estimate, 10), sv, max(tokens, 0))
	for i := range t.counters {
		args = append(args, t.counters[i].Rule.Window.Milliseconds())
	}
	return releaseScript.Run(ctx, s.rdb, s.keys(t.counters), args...).Err()
}

func (s *redisStore) status(ctx context.Context, cs []Counter) ([]Usage, error) {
	args := make([]any, 0, len(cs))
	for i := range cs {
		args = append(args, cs[i].Rule.Window.Milliseconds())
	}
	res, err := statusScript.Run(ctx, s.rdb, s.keys(cs), args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 4*len(cs) {
		return nil, errors.New("limits: unexpected status answer")
	}
	out := make([]Usage, len(cs))
	for i := range out {
		out[i] = Usage{Requests: res[4*i], Tokens: res[4*i+1], Concurrency: res[4*i+2],
			ClearsIn: time.Duration(res[4*i+3]) * time.Millisecond}
	}
	return out, nil
}
