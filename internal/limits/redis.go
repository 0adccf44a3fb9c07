package limits

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps counters in Redis, shared by every instance. A counter's window is bucketed
// per millisecond: every call an admission script admits starts at the script's now, so the calls
// of a batch share one bucket. Each counter is four keys: a sorted set of its buckets by start
// (:r, member the start ms as text), a hash of the buckets' counts (:t, per bucket "r<ms>" the
// calls started then that count as requests and "t<ms>" their tokens: an in-flight call's
// estimate, a finished call's real count), a sorted set of its calls in flight by lease expiry
// (:c, one entry per call whatever the rule limits: a release hangs on it), and a hash of the
// counter's state (:m): the buckets' requests and tokens summed (n, s), their number (k), the
// latest (l), the in-flight entries whose lease had not passed at the last prune (f), when it
// was (p), until when the keys' expiry stands (e), and the format (v = 2; a counter without it is
// converted on first touch, see upgrade). The sums count buckets that have already left the
// window: they only ever count too much, so an admission that fits by them fits; one that does
// not, and any admission a quarter of a window after the last prune, first prunes (takes the
// buckets that left off the sums, exactly) and counts again. A batch of calls far below their
// limits therefore costs a handful of commands per counter (the state read, one bucket written,
// one insert into the small in-flight set, the state written), whatever the window holds and
// however many calls the batch has. The expiry of the four keys is set when it is due (half of it
// has passed), not on every call, and a key's own when it starts empty (the set of calls in
// flight, after its last call left; an account's set of reservations likewise). All keys carry the hash tag {lim},
// so one call's script runs on one slot of a Redis Cluster. Times come from Redis (TIME), so
// instances' clocks never disagree.
//
// An account's ledger (ledger.go) is two keys under the same tag: a hash whose field c is the
// quota charged through the ledger (never below the database's used quota, which each call
// passes in), h and z the sum and number of the reservations in the set (those past their lease
// included until a prune, which runs when they would decide an admission, and every lease),
// p and e as for a counter; and a sorted set of reservations "id:amount" by lease expiry.
//
// Admissions and releases go in batches, one script call each (batch.go): a batch's keys, and what
// its calls share, are sent once, and its keys change by one command per key for the whole batch.
// No key is kept per call; an admission batch's answer is kept under one key per batch (for
// resends), a release needs none.
type redisStore struct {
	rdb       redis.UniversalClient
	scripts   scripts
	prefix    string
	holdLease time.Duration
	boxed     boxedKeys
	// The script arguments that are the same for every call, boxed once; instArg is this
	// instance's id (its allowances, grants.go).
	leaseArg, holdLeaseArg, ledgerTTLArg, batchTTLArg, instArg any
}

// scripts are a store's admission, release and status scripts.
type scripts struct {
	admit, release, status, grant *redis.Script
}

// redisScripts are the scripts on Redis's clock.
var redisScripts = scripts{
	admit:   redis.NewScript(luaClock + admitLua),
	release: redis.NewScript(luaClock + releaseLua),
	status:  redis.NewScript(luaClock + statusLua),
	grant:   redis.NewScript(luaClock + grantLua),
}

// at is the scripts with now fixed at ms (tests).
func (scripts) at(ms int64) scripts {
	clock := "local now = " + strconv.FormatInt(ms, 10) + "\n"
	return scripts{admit: redis.NewScript(clock + admitLua), release: redis.NewScript(clock + releaseLua),
		status: redis.NewScript(clock + statusLua), grant: redis.NewScript(clock + grantLua)}
}

// errNeedInit: the ledger holds nothing for an account of the hold; admit again with accounts
// fresh from the database.
var errNeedInit = errors.New("limits: ledger not started")

// errUnexpected: a script answered something the store does not understand.
var errUnexpected = errors.New("limits: unexpected answer from Redis")

// luaClock starts the admission, release and status scripts: their now, in milliseconds, is
// Redis's (TIME), so instances' clocks never disagree. Tests put a clock of their own in its place
// (scripts.at).
const luaClock = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// Shared Lua helpers (after luaClock): now as text; when est fits; the sum of "id:n" entries;
// commands whose arguments may pass what Lua can unpack at once (8000), sent in chunks.
const luaHelpers = `
local function d(x) return string.format('%d', x) end
local snow = d(now)
local function fits(used, est, limit)
  return used < limit and (used == 0 or used + est <= limit)
end
local function amounts(es)
  local s = 0
  for j = 1, #es do s = s + (tonumber(string.match(es[j], ':(%d+)$')) or 0) end
  return s
end
local function chunked(cmd, key, args)
  local out = {}
  for i = 1, #args, 4000 do
    local r = redis.call(cmd, key, unpack(args, i, math.min(i + 3999, #args)))
    if type(r) == 'table' then
      for j = 1, #r do out[#out + 1] = r[j] end
    end
  end
  return out
end
`

// luaBuckets reads a counter's buckets and state (see redisStore): the state (counter: empty for
// a counter without keys), brought to this format when it is missing or has no version (upgrade:
// a counter of the previous format, one member per call — requests "id" and tokens "id:n" by
// start in :r and :t — has its calls grouped by start into buckets, so nothing it counted is
// lost; a counter whose state alone is missing has its sums counted again from its buckets); the
// sums of some buckets (bsum); changes gathered per bucket (tally); a walk over the buckets,
// oldest (or newest) first, in growing chunks (walk: a refusal usually stops in the first); and a
// prune (cprune). A call's entry among the calls in flight leaves at a prune only once its lease has
// passed and its start has left the window (its bucket is pruned at the same time or before):
// until then its release can still change its bucket.
const luaBuckets = `
local function cstate(km)
  local v = redis.call('HMGET', km, 'v', 'n', 's', 'k', 'l', 'f', 'p', 'e', 'ar', 'at', 'ac', 'gx', 'gw')
  if v[1] ~= '2' or not v[2] or not v[3] or not v[4] or not v[5] or not v[6] or not v[7] or not v[8] then return nil end
  return {n = tonumber(v[2]), s = tonumber(v[3]), k = tonumber(v[4]), l = tonumber(v[5]), f = tonumber(v[6]),
    p = tonumber(v[7]), e = tonumber(v[8]), ar = tonumber(v[9]) or 0, at = tonumber(v[10]) or 0, ac = tonumber(v[11]) or 0,
    gx = tonumber(v[12]) or 0, gw = tonumber(v[13]) or 0}
end
local function names(bs, from, to)
  local ns = {}
  for j = from, to do
    ns[#ns + 1] = 'r' .. bs[j]
    ns[#ns + 1] = 't' .. bs[j]
  end
  return ns
end
local function tally(bs, order, b, dn, ds)
  local x = bs[b]
  if not x then
    x = {0, 0}
    bs[b] = x
    order[#order + 1] = b
  end
  x[1], x[2] = x[1] + dn, x[2] + ds
end
local function upgrade(kr, kt, kc, km, hz)
  local typ = redis.call('TYPE', kt)['ok']
  if typ ~= 'hash' then
    local bs, order = {}, {}
    local es = redis.call('ZRANGE', kr, 0, -1, 'WITHSCORES')
    for j = 1, #es, 2 do tally(bs, order, es[j + 1], 1, 0) end
    if typ == 'zset' then
      es = redis.call('ZRANGE', kt, 0, -1, 'WITHSCORES')
      for j = 1, #es, 2 do tally(bs, order, es[j + 1], 0, tonumber(string.match(es[j], ':(%d+)$')) or 0) end
    end
    if #order > 0 then
      redis.call('DEL', kr, kt)
      local fs, zs = {}, {}
      for _, sc in ipairs(order) do
        local b, m = bs[sc], d(tonumber(sc))
        fs[#fs + 1], fs[#fs + 2], fs[#fs + 3], fs[#fs + 4] = 'r' .. m, d(b[1]), 't' .. m, d(b[2])
        zs[#zs + 1], zs[#zs + 2] = m, m
      end
      chunked('HSET', kt, fs)
      chunked('ZADD', kr, zs)
    end
  end
  local n, s = 0, 0
  local all = redis.call('HGETALL', kt)
  for j = 1, #all, 2 do
    local v = tonumber(all[j + 1]) or 0
    if string.byte(all[j], 1) == 114 then n = n + v else s = s + v end
  end
  local last = redis.call('ZRANGE', kr, -1, -1, 'WITHSCORES')
  local st = {n = n, s = s, k = redis.call('ZCARD', kr), l = tonumber(last[2]) or 0, f = redis.call('ZCARD', kc), p = 0,
    e = now + 2 * hz, ar = 0, at = 0, ac = 0, gx = 0, gw = 0}
  redis.call('HDEL', km, 'ar', 'at', 'ac', 'gx', 'gw') -- allowances of the lost state are not known: they expire unseen
  redis.call('HSET', km, 'v', '2', 'n', d(st.n), 's', d(st.s), 'k', d(st.k), 'l', d(st.l), 'f', d(st.f), 'p', '0', 'e', d(st.e))
  local px = d(2 * hz)
  redis.call('PEXPIRE', kr, px); redis.call('PEXPIRE', kt, px); redis.call('PEXPIRE', kc, px); redis.call('PEXPIRE', km, px)
  return st
end
local function counter(kr, kt, kc, km, hz)
  local st = cstate(km)
  if st then return st end
  if redis.call('EXISTS', kr, kt, kc) == 0 then return {n = 0, s = 0, k = 0, l = 0, f = 0, p = now, e = 0, ar = 0, at = 0, ac = 0, gx = 0, gw = 0} end
  return upgrade(kr, kt, kc, km, hz)
end
local function bsum(kt, bs)
  local ns = names(bs, 1, #bs)
  local v = chunked('HMGET', kt, ns)
  local n, s = 0, 0
  for j = 1, #v, 2 do n, s = n + (tonumber(v[j]) or 0), s + (tonumber(v[j + 1]) or 0) end
  return n, s, ns
end
local function walk(kr, kt, from, fn, rev)
  local size = 64
  while true do
    local bs
    if rev then
      bs = redis.call('ZRANGE', kr, from, from + size - 1, 'REV')
    else
      bs = redis.call('ZRANGE', kr, from, from + size - 1)
    end
    if #bs == 0 then return nil end
    local v = redis.call('HMGET', kt, unpack(names(bs, 1, #bs)))
    for j = 1, #bs do
      local b = tonumber(bs[j])
      if fn(tonumber(v[2 * j - 1]) or 0, tonumber(v[2 * j]) or 0, b) then return b end
    end
    from, size = from + #bs, math.min(size * 4, 2000)
  end
end
local function cprune(st, C, lease)
  local cut = now - C.w
  local gone = redis.call('ZRANGEBYSCORE', C.kr, '-inf', cut)
  if #gone > 0 then
    local n, s, ns = bsum(C.kt, gone)
    chunked('HDEL', C.kt, ns)
    redis.call('ZREMRANGEBYSCORE', C.kr, '-inf', cut)
    st.n, st.s, st.k = st.n - n, st.s - s, st.k - #gone
  end
  redis.call('ZREMRANGEBYSCORE', C.kc, '-inf', math.min(now, cut + lease))
  st.f = redis.call('ZCOUNT', C.kc, '(' .. snow, '+inf')
  st.p = now
end
`

// luaState reads and prunes an account's state (see redisStore).
const luaState = `
local function ledger(kh, used)
  local v = redis.call('HMGET', kh, 'c', 'h', 'z', 'p', 'e', 'ga', 'gx', 'gw')
  if not v[1] then return nil end
  return {c = math.max(tonumber(v[1]), used), h = tonumber(v[2]), z = tonumber(v[3]), p = tonumber(v[4]) or 0, e = tonumber(v[5]) or 0,
    ga = tonumber(v[6]) or 0, gx = tonumber(v[7]) or 0, gw = tonumber(v[8]) or 0}
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
// state is read once and written back once, each set's new members go in one ZADD, before
// anything reads the set (flush), and a counter's calls of the batch, which all start at the
// script's now, go into one bucket, written once (bflush), before anything reads the buckets. A
// batch of calls of the same users, rules or accounts therefore costs a few commands, not a few
// per call.
const luaGather = `
local states, ledgers, dirty, dirtyL, adds, pend = {}, {}, {}, {}, {}, {}
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
local function bflush(km)
  local P = pend[km]
  if not P then return end
  pend[km] = nil
  local C, st = P.C, states[km]
  local fr, ft = 'r' .. snow, 't' .. snow
  local n, s, new = P.n, P.s, true
  if st.l >= now then
    local v = redis.call('HMGET', C.kt, fr, ft)
    if v[1] or v[2] then n, s, new = n + (tonumber(v[1]) or 0), s + (tonumber(v[2]) or 0), false end
  end
  redis.call('HSET', C.kt, fr, d(n), ft, d(s))
  if new then
    redis.call('ZADD', C.kr, now, snow)
    if st.k == 0 then st.due = true end
    st.k = st.k + 1
    if now > st.l then st.l = now end
  end
end
`

// luaGrants handles allowances (grants.go): an instance's allowance on a counter is the field
// "g:<instance>" of the counter's state, "<requests>,<tokens>,<slots>,<lease end ms>", and the
// state's ar, at and ac sum every instance's; on an account it is the field "g:<instance>" of the
// ledger hash, "<amount>,<lease end ms>", summed in ga. gx is the earliest lease end among them
// (0: none), gw until when no allowance is given (a call was refused while allowances were out).
// Every instance's allowances count as used for every admission, and for no status: a call
// admitted against one is recorded (admitLua, mode g or x), which takes it off the allowance and
// counts it as any call. gfield is set by the script before any of these runs.
const luaGrants = `
local gfield
local function gparse(v)
  local out = {}
  for x in string.gmatch(v, '%d+') do out[#out + 1] = tonumber(x) end
  return out
end
local function gmine(h, key)
  if h.g == nil then
    local v = redis.call('HGET', key, gfield)
    if v then h.g = gparse(v) else h.g = false end
  end
  return h.g
end
local function cdebit(st, km, dr, dt, dk)
  local g = gmine(st, km)
  if not g then return end
  local r, t, k = math.min(g[1], dr), math.min(g[2], dt), math.min(g[3], dk)
  g[1], g[2], g[3] = g[1] - r, g[2] - t, g[3] - k
  st.ar, st.at, st.ac, st.gd = math.max(st.ar - r, 0), math.max(st.at - t, 0), math.max(st.ac - k, 0), true
end
local function adebit(L, kh, amount)
  local g = gmine(L, kh)
  if not g then return end
  local x = math.min(g[1], amount)
  g[1], L.ga, L.gd = g[1] - x, math.max(L.ga - x, 0), true
end
-- gprune drops the allowances whose lease has passed (their instance stopped without giving them
-- back); drop(g) takes each off the sums.
local function gprune(h, key, drop)
  if h.gx == 0 or h.gx > now then return end
  local all = redis.call('HGETALL', key)
  local nx = 0
  for j = 1, #all, 2 do
    local f = all[j]
    if string.sub(f, 1, 2) == 'g:' then
      local g = gparse(all[j + 1])
      local x = g[#g]
      if x <= now then
        redis.call('HDEL', key, f)
        drop(g)
        if f == gfield then h.g = false end
      elseif nx == 0 or x < nx then
        nx = x
      end
    end
  end
  h.gx, h.gd = nx, true
end
-- cgprune prunes a counter's allowances: a lapsed one's requests and tokens count as started now
-- (its instance may have admitted calls against it that it never recorded), its slots free.
local function cgprune(st, C)
  gprune(st, C.km, function(g)
    st.ar, st.at, st.ac = math.max(st.ar - g[1], 0), math.max(st.at - g[2], 0), math.max(st.ac - g[3], 0)
    if g[1] > 0 or g[2] > 0 then
      local P = pend[C.km]
      if not P then
        P = {C = C, n = 0, s = 0}
        pend[C.km] = P
      end
      P.n, P.s, st.n, st.s = P.n + g[1], P.s + g[2], st.n + g[1], st.s + g[2]
    end
  end)
  dirty[C.km] = C
end
local function agprune(L, A)
  gprune(L, A.kh, function(g) L.ga = math.max(L.ga - g[1], 0) end)
  dirtyL[A.kh] = A
end
local function gsave(key, h, fields)
  local g = h.g
  if g then
    local left = 0
    for j = 1, #g - 1 do left = left + g[j] end
    if left > 0 then
      local parts = {}
      for j = 1, #g do parts[j] = d(g[j]) end
      fields[#fields + 1], fields[#fields + 2] = gfield, table.concat(parts, ',')
    else
      redis.call('HDEL', key, gfield)
    end
  end
  redis.call('HSET', key, unpack(fields))
end
-- writeall writes every counter and ledger the script changed: each state, its bucket, its new
-- calls in flight and reservations, its allowances, and the keys' expiry when it is due.
local function writeall(ttl)
  for km, C in pairs(dirty) do
    local st = states[km]
    bflush(km); flush(C.kc)
    if st.e < now + st.hz then st.due = true end -- also a counter an allowance alone started
    if st.due then st.e = now + 2 * st.hz end
    local fs = {'v', '2', 'n', d(st.n), 's', d(st.s), 'k', d(st.k), 'l', d(st.l), 'f', d(st.f), 'p', d(st.p), 'e', d(st.e)}
    if st.gd then
      for _, x in ipairs({'ar', d(st.ar), 'at', d(st.at), 'ac', d(st.ac), 'gx', d(st.gx), 'gw', d(st.gw)}) do fs[#fs + 1] = x end
      gsave(km, st, fs)
    else
      redis.call('HSET', km, unpack(fs))
    end
    if st.due then
      local px = d(2 * st.hz)
      redis.call('PEXPIRE', C.kr, px); redis.call('PEXPIRE', C.kt, px); redis.call('PEXPIRE', C.kc, px); redis.call('PEXPIRE', km, px)
    elseif st.cnew then
      redis.call('PEXPIRE', C.kc, d(st.e - now)) -- the other keys' expiry (at least a lease away: not due)
    end
  end
  for kh, A in pairs(dirtyL) do
    local L = ledgers[kh]
    flush(A.kz)
    if L.e < now + ttl / 2 then L.due, L.e = true, now + ttl end
    local fs = {'c', d(L.c), 'h', d(L.h), 'z', d(L.z), 'p', d(L.p), 'e', d(L.e)}
    if L.gd then
      for _, x in ipairs({'ga', d(L.ga), 'gx', d(L.gx), 'gw', d(L.gw)}) do fs[#fs + 1] = x end
      gsave(kh, L, fs)
    else
      redis.call('HSET', kh, unpack(fs))
    end
    if L.due then
      redis.call('PEXPIRE', kh, d(ttl)); redis.call('PEXPIRE', A.kz, d(ttl))
    elseif L.znew then
      redis.call('PEXPIRE', A.kz, d(L.e - now)) -- the ledger's expiry (at least half of ttl away: not due)
    end
  end
  for key in pairs(adds) do flush(key) end
end
`

// statusLua, the status script. KEYS per counter its four keys; ARGV the concurrency lease, then
// per counter its window ms and whether its rule limits concurrency (0/1). Returns per counter
// the requests and tokens in the window, the calls in flight (0 when the rule does not limit
// concurrency) and the ms until the oldest counted bucket leaves the window (0: none). What the
// state counts of the buckets that already left the window (they stay until a prune) is taken off
// it.
const statusLua = luaHelpers + luaBuckets + `
local lease = tonumber(ARGV[1])
local out = {}
for i = 0, #KEYS / 4 - 1 do
  local w, cc = tonumber(ARGV[2 + 2 * i]), ARGV[3 + 2 * i] == '1'
  local kr, kt, kc, km = KEYS[1 + i * 4], KEYS[2 + i * 4], KEYS[3 + i * 4], KEYS[4 + i * 4]
  local st = cstate(km)
  if not st and redis.call('EXISTS', kr, kt, kc) > 0 then st = upgrade(kr, kt, kc, km, math.max(w, lease)) end
  local n, s, clears, f = 0, 0, 0, 0
  if st then
    local stale = redis.call('ZRANGEBYSCORE', kr, '-inf', now - w)
    n, s = st.n, st.s
    if #stale > 0 then
      local sn, ss = bsum(kt, stale)
      n, s = n - sn, s - ss
    end
    local oldest = walk(kr, kt, #stale, function(r, x) return r > 0 or x > 0 end)
    if oldest then clears = oldest + w - now end
    if cc then f = redis.call('ZCOUNT', kc, '(' .. snow, '+inf') end
  end
  out[#out + 1] = n
  out[#out + 1] = s
  out[#out + 1] = f
  out[#out + 1] = clears
end
return out
`

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

// counterKeys are the suffixes of a counter's four keys: buckets, their counts, calls in flight,
// state.
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
	args := make([]any, 0, 1+2*len(cs))
	args = append(args, s.leaseArg)
	for i := range cs {
		cc := 0
		if cs[i].Rule.Concurrency > 0 {
			cc = 1
		}
		args = append(args, cs[i].Rule.Window.Milliseconds(), cc)
	}
	keys := make([]string, 0, 4*len(cs))
	for i := range cs {
		k := s.prefix + cs[i].Key
		for _, sfx := range counterKeys {
			keys = append(keys, k+sfx)
		}
	}
	res, err := s.scripts.status.Run(ctx, s.rdb, keys, args...).Int64Slice()
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
