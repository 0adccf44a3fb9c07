package limits

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps counters in Redis, shared by every instance. Each counter is four keys: a
// sorted set of admitted calls by start (requests), one of token entries "id:n" by start (an
// in-flight call's entry holds its estimate), one of calls in flight by lease expiry, and a hash
// of the counter's state: the three sets' sizes (n, k, f), the token entries' sum (s), when the
// sets were last pruned (p) and until when their expiry stands (e). The sizes and the sum count
// entries that have already left the window or outlived their lease: they only ever count too
// much, so an admission that fits by them fits; one that does not, and any admission a quarter of
// a window after the last prune, first prunes the sets and counts again, exactly. A batch of calls
// far below their limits therefore costs about five commands per counter (the state read, one
// insert per set, the state written), whatever the window holds and however many calls it has. The expiry
// of the four keys is set when it is due (half of it has passed) or when a set starts empty,
// not on every call. All keys carry the hash tag {lim}, so one call's script runs on one slot of a
// Redis Cluster. Times come from Redis (TIME), so instances' clocks never disagree.
//
// An account's ledger (ledger.go) is two keys under the same tag: a hash whose field c is the
// quota charged through the ledger (never below the database's used quota, which each call
// passes in), h and z the sum and number of the reservations in the set (those past their lease
// included until a prune, which runs when they would decide an admission, and every lease),
// p and e as for a counter; and a sorted set of reservations "id:amount" by lease expiry.
//
// Admissions and releases go in batches, one script call each (batch.go): a batch's keys, and what
// its calls share, are sent once, and its sets change by one command per set for the whole batch.
// No key is kept per call; an admission batch's answer is kept under one key per batch (for
// resends), a release needs none.
type redisStore struct {
	rdb       redis.UniversalClient
	prefix    string
	holdLease time.Duration
	boxed     boxedKeys
	// The script arguments that are the same for every call, boxed once.
	leaseArg, holdLeaseArg, ledgerTTLArg, batchTTLArg any
}

// errNeedInit: the ledger holds nothing for an account of the hold; admit again with accounts
// fresh from the database.
var errNeedInit = errors.New("limits: ledger not started")

// errUnexpected: a script answered something the store does not understand.
var errUnexpected = errors.New("limits: unexpected answer from Redis")

// Shared Lua helpers: now in milliseconds; the token entries of a set; when est fits; the sum of
// "id:n" entries.
const luaHelpers = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function d(x) return string.format('%d', x) end
local snow = d(now)
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
local function amounts(es)
  local s = 0
  for j = 1, #es do s = s + (tonumber(string.match(es[j], ':(%d+)$')) or 0) end
  return s
end
`

// luaState reads and prunes a counter's and an account's state (see redisStore).
const luaState = `
local function cstate(km)
  local v = redis.call('HMGET', km, 'n', 'k', 's', 'f', 'p', 'e')
  if not v[1] or not v[2] or not v[3] or not v[4] or not v[5] or not v[6] then return nil end
  return {n = tonumber(v[1]), k = tonumber(v[2]), s = tonumber(v[3]), f = tonumber(v[4]), p = tonumber(v[5]), e = tonumber(v[6])}
end
local function cprune(st, kr, kt, kc, w)
  local cut = now - w
  redis.call('ZREMRANGEBYSCORE', kr, '-inf', cut)
  local s
  if st then
    local gone = redis.call('ZRANGEBYSCORE', kt, '-inf', cut)
    if #gone > 0 then redis.call('ZREMRANGEBYSCORE', kt, '-inf', cut) end
    s = st.s - amounts(gone)
  else
    redis.call('ZREMRANGEBYSCORE', kt, '-inf', cut)
    s = amounts(redis.call('ZRANGE', kt, 0, -1))
  end
  redis.call('ZREMRANGEBYSCORE', kc, '-inf', now)
  return {n = redis.call('ZCARD', kr), k = redis.call('ZCARD', kt), s = s, f = redis.call('ZCARD', kc), p = now, e = 0}
end
local function ledger(kh, used)
  local v = redis.call('HMGET', kh, 'c', 'h', 'z', 'p', 'e')
  if not v[1] then return nil end
  return {c = math.max(tonumber(v[1]), used), h = tonumber(v[2]), z = tonumber(v[3]), p = tonumber(v[4]) or 0, e = tonumber(v[5]) or 0}
end
local function lpurge(L, kz)
  local gone = redis.call('ZRANGEBYSCORE', kz, '-inf', now)
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', kz, '-inf', now) end
  if L.h and L.z then
    L.h, L.z = L.h - amounts(gone), L.z - #gone
  else
    local all = redis.call('ZRANGE', kz, 0, -1)
    L.h, L.z = amounts(all), #all
  end
  L.p = now
  if #gone > 0 then L.e = 0 end
end
`

// luaGather holds an admission batch's writes until the batch ends: a counter's or a ledger's
// state is read once and written back once, and each set's new members go in one ZADD, before
// anything reads the set (flush). A batch of calls of the same users, rules or accounts therefore
// costs a few commands, not a few per call.
const luaGather = `
local states, ledgers, dirty, dirtyL, adds = {}, {}, {}, {}, {}
local function add(key, score, member)
  local a = adds[key]
  if not a then
    a = {}
    adds[key] = a
  end
  a[#a + 1] = score
  a[#a + 1] = member
end
local function flush(key)
  local a = adds[key]
  if a then
    redis.call('ZADD', key, unpack(a))
    adds[key] = nil
  end
end
`

// statusScript: KEYS per counter (req, tok, conc, token sum); ARGV per counter window ms. Returns per counter
// requests, tokens, in flight, clears ms.
var statusScript = redis.NewScript(luaHelpers + `
local out = {}
for i = 0, #KEYS / 4 - 1 do
  local w = tonumber(ARGV[1+i])
  local kr, kt, kc = KEYS[1+i*4], KEYS[2+i*4], KEYS[3+i*4]
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

// renewScript: KEYS the reservation sets; ARGV hold lease ms, then each set's member. A
// reservation still there gets a new lease (one already released stays released).
var renewScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', now + tonumber(ARGV[1]), ARGV[i + 1]) end
return 1
`)

// availableScript: KEYS ledger hash, reservations; ARGV limit, used. Returns the live balance.
var availableScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = math.max(tonumber(redis.call('HGET', KEYS[1], 'c')) or 0, tonumber(ARGV[2]))
local s = 0
for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')) do
  s = s + (tonumber(string.match(e, ':(%d+)$')) or 0)
end
return tonumber(ARGV[1]) - c - s
`)

// batchTTL is how long Redis remembers a batch's admissions: longer than any resend of the same
// script (a client's retries after a timeout, the Limiter's while Redis is slow: at most
// Config.SlowBudget, whichever is longer), so that a resent batch finds what its first run did.
const batchTTL = 2 * time.Minute

// counterKeys are the suffixes of a counter's four keys: started calls, token entries, calls in
// flight, state.
var counterKeys = []string{":r", ":t", ":c", ":m"}

// accountKeys are the suffixes of an account's two keys: ledger hash, reservations.
var accountKeys = []string{":c", ":h"}

// boxedKeys caches the Redis keys of counters and accounts as the command arguments they become
// (strings in interfaces), so that a call's command does not format and box the same keys again
// on every call. It holds at most maxBoxed entries and starts again empty past that.
type boxedKeys struct {
	mu sync.Mutex
	m  map[string][]any
}

const maxBoxed = 1 << 16

func (b *boxedKeys) get(prefix, key string, suffixes ...string) []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ks, ok := b.m[key]; ok {
		return ks
	}
	if b.m == nil || len(b.m) >= maxBoxed {
		b.m = make(map[string][]any)
	}
	ks := make([]any, len(suffixes))
	for i, sfx := range suffixes {
		ks[i] = prefix + key + sfx
	}
	b.m[key] = ks
	return ks
}

// renew extends the leases of the tickets' reservations (one script call).
func (s *redisStore) renew(ctx context.Context, ts []*Ticket) error {
	var keys []string
	args := []any{s.holdLease.Milliseconds()}
	for _, t := range ts {
		for i := range t.hold.Accounts {
			keys = append(keys, s.prefix+t.hold.Accounts[i].Key+":h")
			args = append(args, holdMember(t.ID, t.hold.Amount))
		}
	}
	return renewScript.Run(ctx, s.rdb, keys, args...).Err()
}

func (s *redisStore) available(ctx context.Context, a Account) (int64, error) {
	k := s.prefix + a.Key
	return availableScript.Run(ctx, s.rdb, []string{k + ":c", k + ":h"}, a.Limit, a.Used).Int64()
}

func (s *redisStore) status(ctx context.Context, cs []Counter) ([]Usage, error) {
	args := make([]any, 0, len(cs))
	for i := range cs {
		args = append(args, cs[i].Rule.Window.Milliseconds())
	}
	keys := make([]string, 0, 4*len(cs))
	for i := range cs {
		k := s.prefix + cs[i].Key
		for _, sfx := range counterKeys {
			keys = append(keys, k+sfx)
		}
	}
	res, err := statusScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 4*len(cs) {
		return nil, errUnexpected
	}
	out := make([]Usage, len(cs))
	for i := range out {
		out[i] = Usage{Requests: res[4*i], Tokens: res[4*i+1], Concurrency: res[4*i+2],
			ClearsIn: time.Duration(res[4*i+3]) * time.Millisecond}
	}
	return out, nil
}
