package limits

import (
	"context"
	"errors"
	"strconv"
	"strings"
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
// a window after the last prune, first prunes the sets and counts again, exactly. A call far below
// its limits therefore costs five commands per counter, whatever the window holds. The expiry
// of the four keys is set when it is due (half of it has passed) or when a set starts empty,
// not on every call. All keys carry the hash tag {lim}, so one call's script runs on one slot of a
// Redis Cluster. Times come from Redis (TIME), so instances' clocks never disagree.
//
// An account's ledger (ledger.go) is two keys under the same tag: a hash whose field c is the
// quota charged through the ledger (never below the database's used quota, which each call
// passes in), h and z the sum and number of the reservations in the set (those past their lease
// included until a prune, which runs when they would decide an admission, and every lease),
// p and e as for a counter; and a sorted set of reservations "id:amount" by lease expiry. A
// ticket's key is a string, "now:amount", from its admission to its release: the keyspace holds
// the calls in flight, not every call of the last minutes.
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

// luaCalls runs one (the script's handling of one call) over the batch's calls, each under
// pcall, into out.
const luaCalls = `
local out, ko, ao = {}, 0, 2
for x = 1, tonumber(ARGV[1]) do
  local nk, na = tonumber(ARGV[ao + 1]), tonumber(ARGV[ao + 2])
  local ok, r = pcall(one, ko, nk, ao + 2)
  if ok then out[x] = r else out[x] = {-1} end
  ko, ao = ko + nk, ao + 2 + na
end
`

// The admission and release scripts take a batch: the calls that reached the Limiter while the
// previous batch was in flight, in one script call (one round trip, one script run). ARGV[1] is
// the number of calls, ARGV[2] the batch key's time to live (admissions) or unused; then, per
// call, its key count, its argument count and its arguments; KEYS are the calls' keys one after
// the other, then the batch's own key. The answer is one result per call, in order. Each call in
// the batch is handled exactly as if it had come alone, one after the other: a later call sees
// what an earlier one took. A call whose part fails (a command refused) answers {-1} and does not
// fail the others. luaBatch is the release script's loop over its calls, then its write-back of
// the states it changed (the admission script has its own, which also remembers its answers).
const luaBatch = luaCalls + `
for km in pairs(dirty) do
  local st = states[km]
  redis.call('HSET', km, 'n', d(st.n), 'k', d(st.k), 's', d(st.s), 'f', d(st.f))
end
for kh in pairs(dirtyL) do
  local L = ledgers[kh]
  if L.h and L.z then redis.call('HSET', kh, 'c', d(L.c), 'h', d(L.h), 'z', d(L.z)) else redis.call('HSET', kh, 'c', d(L.c)) end
end
return out
`

// admitScript, per call (KEYS from ko+1, ARGV from ao+1): keys per counter (req, tok, conc,
// state), then per account (ledger hash, reservations); arguments id, estimate, lease ms, counters
// n, then per counter window ms, requests, tokens, concurrency, then amount, hold lease ms, ledger
// ttl ms, init (0/1), then per account limit and used. Answers {1, now, amount reserved}, {0,
// refused index, kind, clears ms}, {3, account index} (the account's balance is used up) or {2}
// (an account's ledger is missing and init is 0).
//
// The script is idempotent per batch: its answers are remembered under the batch's key (for
// batchTTL), and the same batch sent again answers them again and changes nothing. A client that
// resends the script after a timeout (go-redis does, and so does the Limiter while Redis is slow)
// can therefore never count a call twice, nor refuse a call on the slot its own first attempt
// took. One key per batch, not per call: the keyspace does not grow with every call.
var admitScript = redis.NewScript(luaHelpers + luaState + luaGather + `
local bk = KEYS[#KEYS]
local memo = redis.call('GET', bk)
if memo then
  local out = {}
  for part in string.gmatch(memo, '[^;]+') do
    local r = {}
    for v in string.gmatch(part, '[^,]+') do r[#r + 1] = tonumber(v) or v end
    out[#out + 1] = r
  end
  return out
end
local function one(ko, nk, ao)
  local id, est, lease, n = ARGV[ao+1], tonumber(ARGV[ao+2]), tonumber(ARGV[ao+3]), tonumber(ARGV[ao+4])
  local b = ao + 5 + n * 4
  local amount, hlease, ttl, init = tonumber(ARGV[b]), tonumber(ARGV[b+1]), tonumber(ARGV[b+2]), ARGV[b+3] == '1'
  local m = (nk - 4 * n) / 2
  local ls = {}
  for j = 0, m - 1 do
    local kh, kz = KEYS[ko+4*n+1+j*2], KEYS[ko+4*n+2+j*2]
    local limit, used = tonumber(ARGV[b+4+j*2]), tonumber(ARGV[b+5+j*2])
    local L = ledgers[kh]
    if L == nil then
      L = ledger(kh, used) or false
      ledgers[kh] = L
    end
    if not L then
      if not init then return {2} end
      L = {c = used, p = 0, e = 0}
      ledgers[kh] = L
    end
    L.c = math.max(L.c, used)
    if not L.h or not L.z or now - L.p >= hlease or limit - L.c - L.h < amount then
      flush(kz)
      lpurge(L, kz)
    end
    local av = limit - L.c - L.h
    if av <= 0 then return {3, j + 1} end
    if av < amount then amount = av end
    ls[j + 1] = L
  end
  local refused, kind, clears = 0, '', 0
  local sts = {}
  for i = 0, n - 1 do
    local w, rq, tl, cc = tonumber(ARGV[ao+5+i*4]), tonumber(ARGV[ao+6+i*4]), tonumber(ARGV[ao+7+i*4]), tonumber(ARGV[ao+8+i*4])
    local kr, kt, kc, km = KEYS[ko+1+i*4], KEYS[ko+2+i*4], KEYS[ko+3+i*4], KEYS[ko+4+i*4]
    local st = states[km]
    if st == nil then
      st = cstate(km) or false
      states[km] = st
    end
    if not st or now - st.p >= w / 4 or (rq > 0 and st.n >= rq) or (tl > 0 and not fits(st.s, est, tl)) or (cc > 0 and st.f >= cc) then
      flush(kr); flush(kt); flush(kc)
      local old = st
      st = cprune(st, kr, kt, kc, w)
      if old and old.due then st.due, st.px = true, old.px end
      states[km] = st
    end
    sts[i + 1] = st
    local k, c = '', 0
    if rq > 0 and st.n >= rq then
      local e = redis.call('ZRANGE', kr, st.n - rq, st.n - rq, 'WITHSCORES')
      k, c = 'requests', tonumber(e[2]) + w - now
    end
    if k == '' and tl > 0 and not fits(st.s, est, tl) then
      k, c = 'tokens', 1000
      local used = st.s
      local _, es = tokens(kt)
      table.sort(es, function(a, b) return a[2] < b[2] end)
      for _, e in ipairs(es) do
        used = used - e[1]
        if fits(used, est, tl) then c = e[2] + w - now; break end
      end
    end
    if k == '' and cc > 0 and st.f >= cc then k, c = 'concurrency', 1000 end
    if k ~= '' then
      if refused == 0 then refused, kind = i + 1, k end
      if c > clears then clears = c end
    end
  end
  if refused > 0 then return {0, refused, kind, clears} end
  for i = 0, n - 1 do
    local w, rq, tl, cc = tonumber(ARGV[ao+5+i*4]), tonumber(ARGV[ao+6+i*4]), tonumber(ARGV[ao+7+i*4]), tonumber(ARGV[ao+8+i*4])
    local kr, kt, kc, km = KEYS[ko+1+i*4], KEYS[ko+2+i*4], KEYS[ko+3+i*4], KEYS[ko+4+i*4]
    local st = sts[i + 1]
    local hz = w
    if cc > 0 and lease > hz then hz = lease end
    if st.e < now + hz then st.due = true end
    if rq > 0 then
      if st.n == 0 then st.due = true end
      add(kr, snow, id)
      st.n = st.n + 1
    end
    if tl > 0 then
      if st.k == 0 then st.due = true end
      add(kt, snow, id .. ':' .. ARGV[ao+2])
      st.k, st.s = st.k + 1, st.s + est
    end
    if cc > 0 then
      if st.f == 0 then st.due = true end
      add(kc, d(now + lease), id)
      st.f = st.f + 1
    end
    if st.due then st.e, st.px = now + 2 * hz, d(2 * hz) end
    dirty[km] = {kr, kt, kc}
  end
  for j = 0, m - 1 do
    local kh, kz = KEYS[ko+4*n+1+j*2], KEYS[ko+4*n+2+j*2]
    local L = ls[j + 1]
    if L.z == 0 or L.e < now + ttl / 2 then L.due, L.e, L.px = true, now + ttl, d(ttl) end
    add(kz, d(now + hlease), id .. ':' .. d(amount))
    L.h, L.z = L.h + amount, L.z + 1
    dirtyL[kh] = kz
  end
  return {1, now, amount}
end
` + luaCalls + `
for km, ks in pairs(dirty) do
  local st = states[km]
  flush(ks[1]); flush(ks[2]); flush(ks[3])
  redis.call('HSET', km, 'n', d(st.n), 'k', d(st.k), 's', d(st.s), 'f', d(st.f), 'p', d(st.p), 'e', d(st.e))
  if st.due then
    redis.call('PEXPIRE', ks[1], st.px); redis.call('PEXPIRE', ks[2], st.px); redis.call('PEXPIRE', ks[3], st.px); redis.call('PEXPIRE', km, st.px)
  end
end
for kh, kz in pairs(dirtyL) do
  local L = ledgers[kh]
  flush(kz)
  redis.call('HSET', kh, 'c', d(L.c), 'h', d(L.h), 'z', d(L.z), 'p', d(L.p), 'e', d(L.e))
  if L.due then redis.call('PEXPIRE', kh, L.px); redis.call('PEXPIRE', kz, L.px) end
end
for key in pairs(adds) do flush(key) end
local parts = {}
for x = 1, #out do
  local f = {}
  for i, v in ipairs(out[x]) do
    if type(v) == 'number' then f[i] = d(v) else f[i] = v end
  end
  parts[x] = table.concat(f, ',')
end
redis.call('SET', bk, table.concat(parts, ';'), 'PX', ARGV[2])
return out
`)

// releaseScript, per call (KEYS from ko+1, ARGV from ao+1): keys per counter (req, tok, conc,
// state), then per account (ledger hash, reservations); arguments id, start ms, estimate, served
// (0/1), tokens, counters n, amount, charge, then per counter window ms. The estimate's token
// entry becomes the real count; each account's reservation is dropped and the charge counted with it (on a ledger that
// still exists: a missing one starts again from the database, where the charge lands).
//
// A release is idempotent by what it removes, so no key has to remember it: each change hangs on
// removing the call's own entry (its concurrency slot, its request when unserved, its token
// estimate, its reservation), and a release sent again finds them gone and changes nothing. A
// charge is counted with the reservation it replaces; a reservation that expired first (its
// instance stopped renewing it) takes its charge with it, and the ledger gets the charge from
// the database's used quota, which every admission passes in.
var releaseScript = redis.NewScript(`
local function d(x) return string.format('%d', x) end
local states, ledgers, dirty, dirtyL = {}, {}, {}, {}
local function one(ko, nk, ao)
  local id, est, served, used = ARGV[ao+1], ARGV[ao+3], ARGV[ao+4] == '1', tonumber(ARGV[ao+5])
  local n, amount, charge = tonumber(ARGV[ao+6]), ARGV[ao+7], tonumber(ARGV[ao+8])
  for j = 0, (nk - 4 * n) / 2 - 1 do
    local kh, kz = KEYS[ko+4*n+1+j*2], KEYS[ko+4*n+2+j*2]
    if redis.call('ZREM', kz, id .. ':' .. amount) == 1 then
      local L = ledgers[kh]
      if L == nil then
        local v = redis.call('HMGET', kh, 'c', 'h', 'z')
        L = false
        if v[1] then L = {c = tonumber(v[1]), h = tonumber(v[2]), z = tonumber(v[3])} end
        ledgers[kh] = L
      end
      if L then
        L.c = L.c + math.max(charge, 0)
        if L.h and L.z then L.h, L.z = L.h - tonumber(amount), L.z - 1 end
        dirtyL[kh] = true
      end
    end
  end
  for i = 0, n - 1 do
    local w = tonumber(ARGV[ao+9+i])
    local kr, kt, kc, km = KEYS[ko+1+i*4], KEYS[ko+2+i*4], KEYS[ko+3+i*4], KEYS[ko+4+i*4]
    local st = states[km]
    if st == nil then
      local v = redis.call('HMGET', km, 'n', 'k', 's', 'f')
      st = false
      if v[1] and v[2] and v[3] and v[4] then st = {n = tonumber(v[1]), k = tonumber(v[2]), s = tonumber(v[3]), f = tonumber(v[4])} end
      states[km] = st
    end
    local f = redis.call('ZREM', kc, id)
    local r = 0
    if not served then r = redis.call('ZREM', kr, id) end
    if redis.call('ZREM', kt, id .. ':' .. est) == 1 then
      if st then st.k, st.s = st.k - 1, st.s - tonumber(est) end
      if served and used > 0 then
        if redis.call('ZADD', kt, ARGV[ao+2], id .. ':' .. ARGV[ao+5]) == 1 and st then st.k, st.s = st.k + 1, st.s + used end
        if not st or st.k <= 1 then redis.call('PEXPIRE', kt, w) end
      end
    end
    if st then
      st.n, st.f = st.n - r, st.f - f
      dirty[km] = true
    end
  end
  return 1
end
` + luaBatch + `
`)

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

// callKeys are a ticket's script keys, boxed for the command: its counters' and accounts' keys
// (from the store's cache).
func (s *redisStore) callKeys(t *Ticket) []any {
	n := 4 * len(t.counters)
	if t.hold != nil {
		n += 2 * len(t.hold.Accounts)
	}
	ks := make([]any, 0, n)
	for i := range t.counters {
		ks = append(ks, s.boxed.get(s.prefix, t.counters[i].Key, counterKeys...)...)
	}
	if t.hold != nil {
		for i := range t.hold.Accounts {
			ks = append(ks, s.boxed.get(s.prefix, t.hold.Accounts[i].Key, ":c", ":h")...)
		}
	}
	return ks
}

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

// scriptCall is one call's part of a batched script call: its keys and its arguments.
type scriptCall struct {
	keys []any
	args []any
}

// maxBatch bounds the calls in one batched script call.
const maxBatch = 256

// runBatch runs a batched script (luaBatch) over calls in one script call and returns one result
// per call; batch is the batch's own key and ttl its ARGV[2]. It builds the EVALSHA command
// itself, from arguments already boxed, and loads the script when Redis does not have it
// (NOSCRIPT), as redis.Script.Run does.
func (s *redisStore) runBatch(ctx context.Context, script *redis.Script, calls []scriptCall, batch string, ttl any) ([]any, error) {
	nk, na := 1, 2
	for i := range calls {
		nk += len(calls[i].keys)
		na += 2 + len(calls[i].args)
	}
	cmd := make([]any, 0, 3+nk+na)
	cmd = append(cmd, "evalsha", script.Hash(), nk)
	for i := range calls {
		cmd = append(cmd, calls[i].keys...)
	}
	cmd = append(cmd, batch, len(calls), ttl)
	for i := range calls {
		cmd = append(cmd, len(calls[i].keys), len(calls[i].args))
		cmd = append(cmd, calls[i].args...)
	}
	c := redis.NewCmd(ctx, cmd...)
	_ = s.rdb.Process(ctx, c)
	if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		if err := script.Load(ctx, s.rdb).Err(); err != nil {
			return nil, err
		}
		c = redis.NewCmd(ctx, cmd...)
		_ = s.rdb.Process(ctx, c)
	}
	res, err := c.Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != len(calls) {
		return nil, errUnexpected
	}
	return res, nil
}

// admitCall is the admission script's part for a ticket.
func (s *redisStore) admitCall(t *Ticket, init bool) scriptCall {
	h := t.hold
	if h == nil {
		h = &Hold{}
	}
	args := make([]any, 0, 9+4*len(t.counters)+2*len(h.Accounts))
	args = append(args, t.ID, t.Estimate, s.leaseArg, len(t.counters))
	for i := range t.counters {
		r := t.counters[i].Rule
		args = append(args, r.Window.Milliseconds(), r.Requests, r.Tokens, r.Concurrency)
	}
	in := "0"
	if init {
		in = "1"
	}
	args = append(args, h.Amount, s.holdLeaseArg, s.ledgerTTLArg, in)
	for i := range h.Accounts {
		args = append(args, h.Accounts[i].Limit, h.Accounts[i].Used)
	}
	return scriptCall{keys: s.callKeys(t), args: args}
}

// admitted reads a ticket's answer from the admission script.
func admitted(t *Ticket, answer any) (*Refusal, error) {
	res, ok := answer.([]any)
	if !ok {
		return nil, errUnexpected
	}
	switch {
	case len(res) == 3 && res[0] == int64(1):
		t.Start, _ = res[1].(int64)
		if t.hold != nil {
			t.hold.Amount, _ = res[2].(int64)
		}
		return nil, nil
	case len(res) == 1 && res[0] == int64(2):
		return nil, errNeedInit
	case len(res) == 2 && res[0] == int64(3):
		j, _ := res[1].(int64)
		if t.hold == nil || j < 1 || int(j) > len(t.hold.Accounts) {
			return nil, errUnexpected
		}
		return &Refusal{Kind: t.hold.Accounts[j-1].Kind}, nil
	}
	if len(res) != 4 {
		return nil, errUnexpected
	}
	idx, _ := res[1].(int64)
	kind, _ := res[2].(string)
	clears, _ := res[3].(int64)
	if idx < 1 || int(idx) > len(t.counters) {
		return nil, errUnexpected
	}
	return refuse(nil, &t.counters[idx-1], kind, clears), nil
}

// admitBatch admits a batch of calls in one script call; id names the batch (the same for every
// time it is sent). The error is the script call's (Redis
// could not be asked); each admission's own answer (a refusal, errNeedInit) is set on it.
func (s *redisStore) admitBatch(ctx context.Context, id string, as []*admission) error {
	calls := make([]scriptCall, len(as))
	for i, a := range as {
		calls[i] = s.admitCall(a.t, a.init)
	}
	res, err := s.runBatch(ctx, admitScript, calls, s.prefix+"b:"+id, s.batchTTLArg)
	if err != nil {
		return err
	}
	for i, a := range as {
		a.ref, a.err = admitted(a.t, res[i])
	}
	return nil
}

// releaseBatch releases a batch of calls in one script call.
func (s *redisStore) releaseBatch(ctx context.Context, q []pending) error {
	calls := make([]scriptCall, len(q))
	for i := range q {
		calls[i] = s.releaseCall(q[i].t, q[i].served, q[i].tokens, q[i].charge)
	}
	res, err := s.runBatch(ctx, releaseScript, calls, s.prefix+"b:-", 0)
	if err != nil {
		return err
	}
	for _, r := range res {
		if _, failed := r.([]any); failed {
			return errUnexpected
		}
	}
	return nil
}

// releaseCall is the release script's keys and arguments for a ticket.
func (s *redisStore) releaseCall(t *Ticket, served bool, tokens, charge int64) scriptCall {
	sv := "0"
	if served {
		sv = "1"
	}
	var amount int64
	if t.hold != nil {
		amount = t.hold.Amount
	}
	args := make([]any, 0, 9+len(t.counters))
	args = append(args, t.ID, t.Start, strconv.FormatInt(t.Estimate, 10), sv, max(tokens, 0), len(t.counters), amount, max(charge, 0))
	for i := range t.counters {
		args = append(args, t.counters[i].Rule.Window.Milliseconds())
	}
	return scriptCall{keys: s.callKeys(t), args: args}
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
