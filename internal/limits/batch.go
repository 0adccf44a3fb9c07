package limits

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The admission and release scripts take a batch: the calls that reached the Limiter while the
// previous batch was in flight, in one script call (one round trip, one script run). Calls of a
// batch mostly share their counters and accounts (the same user, rule and balance), so a batch
// is sent by shape: KEYS hold each counter's four keys and each account's two once; a shape is
// what calls have in common (their counters with the rules' figures, their accounts with the
// database's), sent and parsed once; and each call sends only what is its own. Redis parses a
// call's few arguments instead of a score of them, and the scripts convert each shared number
// once per batch, not once per call.
//
// Each call in the batch is handled exactly as if it had come alone, one after the other: a later
// call sees what an earlier one took.

// admitLua, the admission script. KEYS: the counters' keys (buckets, counts, in flight, state) and
// the accounts' (ledger hash, reservations), each counter's or account's once, then the batch's
// own key. ARGV: the batch key's time to live, the concurrency lease, the hold lease and the
// ledger's time to live (ms), the instance's id (its allowances, grants.go); the number of shapes,
// then per shape its number of counters, per counter the offset of its first key in KEYS, window
// ms, requests, tokens, concurrency, then its number of accounts, per account the offset of its
// first key, limit and used; then the number of calls, and per call its shape (1-based), id,
// estimate, amount and mode: 0 admit it, 1 admit it and start a missing ledger from the used
// quota passed, g record a call this instance admitted against its allowances (it is counted as
// admitted whatever the limits, and taken off the allowances), x<served 0/1>,<tokens>,<charge>
// record such a call that has also ended (counted as admitted and released at once),
// y<calls>,<served>,<tokens>,<charge> record that many such calls of one shape at once (their
// estimate and amount summed; tokens those of the served ones).
//
// The admission counts every instance's allowances as used (luaGrants). It answers one string: now
// (ms), then per call after a ';' its answer: the amount reserved (admitted or recorded),
// "r<counter>,<kind>,<clears ms>" (a counter refused it; counter 1-based), "a<account>" (the
// account's balance is used up), either prefixed with g when allowances are out on what refused
// it (they are given no more for a second: see grants.go), "i" (an account's ledger is missing and
// the mode is 0) or "e" (its part failed: a command refused; the others are not failed with it).
//
// The script is idempotent per batch: its answer is remembered under the batch's key (for
// batchTTL), and the same batch sent again answers it again and changes nothing. A client that
// resends the script after a timeout (go-redis does, and so does the Limiter while Redis is slow)
// can therefore never count a call twice, nor refuse a call on the slot its own first attempt
// took. One key per batch, not per call: the keyspace does not grow with every call.
const admitLua = luaHelpers + luaBuckets + luaState + luaGather + luaGrants + `
local bk = KEYS[#KEYS]
local memo = redis.call('GET', bk)
if memo then return memo end
local lease, hlease, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
gfield = 'g:' .. ARGV[5]
local sconc, shold = d(now + lease), d(now + hlease)
local shapes, a = {}, 7
for x = 1, tonumber(ARGV[6]) do
  local cs, as = {}, {}
  for i = 1, tonumber(ARGV[a]) do
    local k, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    cs[i] = {kr = KEYS[k + 1], kt = KEYS[k + 2], kc = KEYS[k + 3], km = KEYS[k + 4], w = w,
      rq = tonumber(ARGV[a + 3]), tl = tonumber(ARGV[a + 4]), cc = tonumber(ARGV[a + 5]), hz = math.max(w, lease)}
    a = a + 5
  end
  a = a + 1
  for j = 1, tonumber(ARGV[a]) do
    local k = tonumber(ARGV[a + 1])
    as[j] = {kh = KEYS[k + 1], kz = KEYS[k + 2], limit = tonumber(ARGV[a + 2]), used = tonumber(ARGV[a + 3])}
    a = a + 3
  end
  a = a + 1
  shapes[x] = {cs = cs, as = as, sts = {}, ls = {}}
end
-- fits with the allowances out (g) counted as used: a call larger than the limit runs only alone.
local function gfits(used, g, est, limit) return fits(used + g, est, limit) end
-- over says whether a counter's state, allowances out included, refuses a call of estimate est.
local function over(st, C, est)
  return (C.rq > 0 and st.n + st.ar >= C.rq) or (C.tl > 0 and not gfits(st.s, st.at, est, C.tl)) or
    (C.cc > 0 and st.f + st.ac >= C.cc)
end
local function one(sh, id, sest, samount, mode)
  local est, amount = tonumber(sest), tonumber(samount)
  local cs, as, sts, ls = sh.cs, sh.as, sh.sts, sh.ls
  -- mode: 0 admit, 1 admit starting missing ledgers, g record a call admitted against this
  -- instance's allowances, x<served>,<tokens>,<charge> record one that has also ended.
  -- y<calls>,<served>,<tokens>,<charge> records calls of one shape that have all ended, as
  -- many x in a row would (est and amount are then their sums, tokens the served ones').
  local rec, rel = mode == 'g', nil
  local m = string.byte(mode, 1)
  if m == 120 then
    local sv, tk, ch = string.match(mode, '^x(%d),(%d+),(%d+)$')
    rel = {n = 1, served = 0, tokens = 0, charge = tonumber(ch)}
    if sv == '1' then rel.served, rel.tokens = 1, tonumber(tk) end
    rec = true
  elseif m == 121 then
    local n, sv, tk, ch = string.match(mode, '^y(%d+),(%d+),(%d+),(%d+)$')
    rec, rel = true, {n = tonumber(n), served = tonumber(sv), tokens = tonumber(tk), charge = tonumber(ch)}
  end
  local init = mode == '1' or rec
  local gout = false
  for j = 1, #as do
    local A = as[j]
    local kh = A.kh
    local L = ledgers[kh]
    if L == nil then
      L = ledger(kh, A.used) or false
      ledgers[kh] = L
    end
    if not L then
      if not init then return 'i' end
      L = {c = A.used, p = 0, e = 0, ga = 0, gx = 0, gw = 0}
      ledgers[kh] = L
    end
    if A.used > L.c then L.c = A.used end
    if rec then
      if not L.h or not L.z then
        flush(A.kz)
        lpurge(L, A.kz)
      end
    else
      if not L.h or not L.z or now - L.p >= hlease or A.limit - L.c - L.h - L.ga < amount then
        flush(A.kz)
        lpurge(L, A.kz)
      end
      local av = A.limit - L.c - L.h - L.ga
      if av < amount and L.ga > 0 then
        agprune(L, A)
        av = A.limit - L.c - L.h - L.ga
        if av < amount and L.ga > 0 then
          L.gw, L.gd = now + 1000, true
          return 'ga' .. j
        end
      end
      if av <= 0 then return 'a' .. j end
      if av < amount then amount, samount = av, d(av) end
    end
    ls[j] = L
  end
  local refused, kind, clears = 0, '', 0
  for i = 1, #cs do
    local C = cs[i]
    local w, rq, tl, cc = C.w, C.rq, C.tl, C.cc
    local st = states[C.km]
    if st == nil then
      st = counter(C.kr, C.kt, C.kc, C.km, C.hz)
      states[C.km] = st
    end
    if now - st.p >= w / 4 or (not rec and st.p < now and over(st, C, est)) then
      flush(C.kc)
      cprune(st, C, lease)
      dirty[C.km] = C -- the prune took buckets off the state: it is written even if no call is added
    end
    st.hz = math.max(st.hz or 0, C.hz)
    sts[i] = st
    if not rec and st.ar + st.at + st.ac > 0 and over(st, C, est) then cgprune(st, C) end
    local k, c = '', 0
    if not rec and rq > 0 and st.n + st.ar >= rq then
      bflush(C.km)
      -- The oldest counted calls have to leave until fewer than keep stay (keep: the limit less
      -- the allowances out); the (n-keep+1)-th oldest is the keep-th newest: walk from the nearer
      -- end (the newest when a lowered limit leaves many more calls in the window than it allows).
      local keep = rq - st.ar
      local rank, seen, at = st.n - keep, 0, nil
      if keep > 0 then
        at = walk(C.kr, C.kt, 0, function(r)
          seen = seen + r
          if rank > keep then return seen >= keep end
          return seen > rank
        end, rank > keep)
      end
      k, c = 'requests', w
      if at then c = at + w - now end
    end
    if k == '' and not rec and tl > 0 and not gfits(st.s, st.at, est, tl) then
      bflush(C.km)
      -- The oldest bucket whose leaving (with all older ones) lets est fit. Walked from the
      -- oldest while what has to leave is the smaller part, else from the newest: there it is
      -- the last bucket before what stays newer than it no longer lets est fit.
      local used, kept, at = st.s, 0, nil
      if st.s > 2 * (tl - est) then
        walk(C.kr, C.kt, 0, function(_, x, b)
          if not gfits(kept, st.at, est, tl) then return true end
          kept, at = kept + x, b
        end, true)
      else
        at = walk(C.kr, C.kt, 0, function(_, x)
          used = used - x
          return gfits(used, st.at, est, tl)
        end)
      end
      k, c = 'tokens', 1000
      if at then c = at + w - now end
    end
    if k == '' and not rec and cc > 0 and st.f + st.ac >= cc then k, c = 'concurrency', 1000 end
    if k ~= '' then
      if refused == 0 then refused, kind = i, k end
      if c > clears then clears = c end
      if st.ar + st.at + st.ac > 0 then
        gout, st.gw, st.gd, dirty[C.km] = true, now + 1000, true, C
      end
    end
  end
  if refused > 0 then
    local g = ''
    if gout then g = 'g' end
    return g .. 'r' .. refused .. ',' .. kind .. ',' .. d(clears)
  end
  for i = 1, #cs do
    local C, st = cs[i], sts[i]
    if st.e < now + C.hz then st.due = true end
    if rec then
      local calls, dr, dt, dk = 1, 0, 0, 0
      if rel then calls = rel.n end
      if C.rq > 0 then dr = calls end
      if C.tl > 0 then dt = est end
      if C.cc > 0 then dk = calls end
      cdebit(st, C.km, dr, dt, dk)
    end
    if C.rq > 0 or C.tl > 0 then
      local dn, ds = 0, 0
      if C.rq > 0 then
        dn = 1
        if rel then dn = rel.served end
      end
      if C.tl > 0 then
        ds = est
        if rel then ds = rel.tokens end
      end
      if dn ~= 0 or ds ~= 0 then
        local P = pend[C.km]
        if not P then
          P = {C = C, n = 0, s = 0}
          pend[C.km] = P
        end
        P.n, P.s, st.n, st.s = P.n + dn, P.s + ds, st.n + dn, st.s + ds
      end
    end
    if not rel then
      if st.f == 0 then st.cnew = true end -- the set of calls in flight starts empty: it has no expiry
      add(C.kc, sconc, id)
      st.f = st.f + 1
    end
    dirty[C.km] = C
  end
  for j = 1, #as do
    local A, L = as[j], ls[j]
    if L.e < now + ttl / 2 then
      L.due, L.e = true, now + ttl
    elseif L.z == 0 then
      L.znew = true -- the set of reservations starts empty: it has no expiry
    end
    if rec then adebit(L, A.kh, amount) end
    if rel then
      L.c = L.c + rel.charge
    else
      add(A.kz, shold, id .. ':' .. samount)
      L.h, L.z = L.h + amount, L.z + 1
    end
    dirtyL[A.kh] = A
  end
  return samount
end
local out = {}
for x = 1, tonumber(ARGV[a]) do
  local p = a + 5 * x - 4
  local ok, r = pcall(one, shapes[tonumber(ARGV[p])], ARGV[p + 1], ARGV[p + 2], ARGV[p + 3], ARGV[p + 4])
  if ok then out[x] = r else out[x] = 'e' end
end
writeall(ttl)
local answer = snow .. ';' .. table.concat(out, ';')
redis.call('SET', bk, answer, 'PX', ARGV[1])
return answer
`

// releaseLua, the release script. KEYS: the counters' and accounts' keys as for admitLua (no
// batch key). ARGV: the concurrency lease (ms); the number of shapes, then per shape its number
// of counters, per counter the offset of its first key in KEYS, its window ms and what the call
// counted there (1: its request, +2: its tokens), then its number of accounts, per account the
// offset of its first key; then the number of calls, and per call its shape, id, start ms,
// estimate, served (0/1), tokens, amount and charge. In the bucket of the call's start, the
// estimate becomes the real count (an unserved call counts no tokens and gives its request back);
// each account's reservation is dropped and the charge counted with it (on a ledger that still
// exists: a missing one starts again from the database, where the charge lands). It answers the
// number of counters and accounts whose part failed (a command refused).
//
// The calls are gathered per counter and per account, and each key is changed by one command for
// the whole batch (ZMSCORE, Redis 6.2 or later, says which of the calls' entries are still there;
// ZREM removes them, HMGET and HSET change their buckets): the counts come out as if each call
// had been released alone, in order.
//
// A release is idempotent by what it removes, so no key has to remember it: each change hangs on
// removing the call's own entry — in each counter its entry among the calls in flight (which
// every call has, whether or not its rule limits concurrency), in each account its reservation —
// and a release sent again finds them gone and changes nothing. A charge is counted with the
// reservation it replaces; a reservation that expired first (its instance stopped renewing it)
// takes its charge with it, and the ledger gets the charge from the database's used quota, which
// every admission passes in.
const releaseLua = luaHelpers + luaBuckets + `
local lease = tonumber(ARGV[1])
local shapes, a = {}, 3
for x = 1, tonumber(ARGV[2]) do
  local cs, as = {}, {}
  for i = 1, tonumber(ARGV[a]) do
    cs[i] = {k = tonumber(ARGV[a + 1]), w = tonumber(ARGV[a + 2]), fl = tonumber(ARGV[a + 3])}
    a = a + 3
  end
  a = a + 1
  for j = 1, tonumber(ARGV[a]) do
    as[j] = tonumber(ARGV[a + 1])
    a = a + 1
  end
  a = a + 1
  shapes[x] = {cs = cs, as = as}
end
local counters, accounts, corder, aorder = {}, {}, {}, {}
for x = 1, tonumber(ARGV[a]) do
  local p = a + 8 * x - 7
  local sh = shapes[tonumber(ARGV[p])]
  for j = 1, #sh.as do
    local k = sh.as[j]
    local g = accounts[k]
    if not g then
      g = {kh = KEYS[k + 1], kz = KEYS[k + 2], n = 0}
      accounts[k] = g
      aorder[#aorder + 1] = g
    end
    g.n = g.n + 1
    g[g.n] = p
  end
  for i = 1, #sh.cs do
    local C = sh.cs[i]
    local g = counters[C.k]
    if not g then
      g = {kr = KEYS[C.k + 1], kt = KEYS[C.k + 2], kc = KEYS[C.k + 3], km = KEYS[C.k + 4], n = 0, fl = {}, hz = 0}
      counters[C.k] = g
      corder[#corder + 1] = g
    end
    g.n = g.n + 1
    g[g.n], g.fl[g.n], g.hz = p, C.fl, math.max(g.hz, C.w, lease)
  end
end
local function settle(g)
  local ms = {}
  for i = 1, g.n do
    local p = g[i]
    ms[i] = ARGV[p + 1] .. ':' .. ARGV[p + 6]
  end
  local sc = redis.call('ZMSCORE', g.kz, unpack(ms))
  local rm, seen, c, h = {}, {}, 0, 0
  for i = 1, g.n do
    local m = ms[i]
    if sc[i] and not seen[m] then
      local p = g[i]
      seen[m] = true
      rm[#rm + 1] = m
      c, h = c + math.max(tonumber(ARGV[p + 7]), 0), h + tonumber(ARGV[p + 6])
    end
  end
  if #rm == 0 then return end
  redis.call('ZREM', g.kz, unpack(rm))
  local v = redis.call('HMGET', g.kh, 'c', 'h', 'z')
  if not v[1] then return end
  if v[2] and v[3] then
    redis.call('HSET', g.kh, 'c', d(tonumber(v[1]) + c), 'h', d(tonumber(v[2]) - h), 'z', d(tonumber(v[3]) - #rm))
  else
    redis.call('HSET', g.kh, 'c', d(tonumber(v[1]) + c))
  end
end
local function count(g)
  local ids, at, seen = {}, {}, {}
  for i = 1, g.n do
    local id = ARGV[g[i] + 1]
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1], at[#ids + 1] = id, i
    end
  end
  local sc = redis.call('ZMSCORE', g.kc, unpack(ids))
  local rm, live = {}, {}
  for j = 1, #ids do
    if sc[j] then rm[#rm + 1], live[#live + 1] = ids[j], j end
  end
  if #rm == 0 then return end
  local st = counter(g.kr, g.kt, g.kc, g.km, g.hz)
  redis.call('ZREM', g.kc, unpack(rm))
  local bs, order = {}, {}
  for _, j in ipairs(live) do
    local i = at[j]
    local p, fl = g[i], g.fl[i]
    if tonumber(sc[j]) > st.p then st.f = st.f - 1 end
    local served, dn, ds = ARGV[p + 4] == '1', 0, 0
    if fl % 2 == 1 and not served then dn = -1 end
    if fl >= 2 then
      ds = -tonumber(ARGV[p + 3])
      if served then ds = ds + tonumber(ARGV[p + 5]) end
    end
    if dn ~= 0 or ds ~= 0 then tally(bs, order, ARGV[p + 2], dn, ds) end
  end
  if #order > 0 then
    local v = chunked('HMGET', g.kt, names(order, 1, #order))
    local set = {}
    for j, b in ipairs(order) do
      if v[2 * j - 1] then
        local x = bs[b]
        set[#set + 1], set[#set + 2] = 'r' .. b, d(tonumber(v[2 * j - 1]) + x[1])
        set[#set + 1], set[#set + 2] = 't' .. b, d((tonumber(v[2 * j]) or 0) + x[2])
        st.n, st.s = st.n + x[1], st.s + x[2]
      end
    end
    if #set > 0 then chunked('HSET', g.kt, set) end
  end
  redis.call('HSET', g.km, 'n', d(st.n), 's', d(st.s), 'f', d(st.f))
end
local failed = 0
for _, g in ipairs(aorder) do
  if not pcall(settle, g) then failed = failed + 1 end
end
for _, g in ipairs(corder) do
  if not pcall(count, g) then failed = failed + 1 end
end
return failed
`

// maxBatch bounds the calls in one batched script call.
const maxBatch = 256

// batchArgs builds a batched script call: the calls' keys, each counter's and account's once; the
// shapes; and the calls' own arguments (see admitLua).
type batchArgs struct {
	s      *redisStore
	keys   []any
	groups map[string]int // a counter's or account's key → the offset of its first key in keys
	// latest maps a shape's first counter's or account's key to its latest shape (1-based).
	latest map[string]int
	shapes []*Ticket // each shape's first call
	head   []any     // the shapes' arguments
	calls  []any     // the number of calls, then each call's arguments
	cmd    []any     // the command run sends
}

// batchPool recycles batches: their maps and slices are sized by the batches before, so a batch
// allocates only its calls' own arguments. A batch is done with once its answer is read (run's
// command is synchronous: nothing holds its arguments after it returns).
var batchPool = sync.Pool{New: func() any {
	return &batchArgs{groups: make(map[string]int), latest: make(map[string]int)}
}}

// maxKeptArgs bounds the arguments a recycled batch keeps room for (a batch of maxBatch calls of
// a few counters each stays under it).
const maxKeptArgs = 1 << 14

func (s *redisStore) newBatch(calls, perCall int) *batchArgs {
	b := batchPool.Get().(*batchArgs) //nolint:forcetypeassert // the pool holds nothing else
	b.s = s
	b.calls = append(slices.Grow(b.calls[:0], 1+calls*perCall), calls)
	return b
}

// free empties b (no key, ticket or argument stays reachable from it) and recycles it.
func (b *batchArgs) free() {
	if cap(b.cmd) > maxKeptArgs || cap(b.calls) > maxKeptArgs || len(b.groups) > maxBatch {
		return // an outsized batch is left to the collector
	}
	clear(b.keys)
	clear(b.shapes)
	clear(b.head)
	clear(b.calls)
	clear(b.cmd)
	clear(b.groups)
	clear(b.latest)
	b.s, b.keys, b.shapes, b.head, b.calls, b.cmd = nil, b.keys[:0], b.shapes[:0], b.head[:0], b.calls[:0], b.cmd[:0]
	batchPool.Put(b)
}

// group is the offset of a counter's or account's first key in KEYS, adding its keys first time.
func (b *batchArgs) group(key string, suffixes ...string) int {
	if k, ok := b.groups[key]; ok {
		return k
	}
	k := len(b.keys)
	b.keys = append(b.keys, b.s.boxed.get(b.s.prefix, key, suffixes...)...)
	b.groups[key] = k
	return k
}

// shape is t's shape (1-based): that of the latest call with the same first key when same says
// t shares it, else a new one whose arguments add appends to head.
func (b *batchArgs) shape(t *Ticket, same func(a, b *Ticket) bool, add func(t *Ticket)) int {
	var first string
	if as := t.accounts(); len(t.counters) > 0 {
		first = t.counters[0].Key
	} else if len(as) > 0 {
		first = as[0].Key
	}
	if i, ok := b.latest[first]; ok && same(b.shapes[i-1], t) {
		return i
	}
	b.shapes = append(b.shapes, t)
	add(t)
	b.latest[first] = len(b.shapes)
	return len(b.shapes)
}

// accounts is a ticket's accounts (none without a hold).
func (t *Ticket) accounts() []Account {
	if t.hold == nil {
		return nil
	}
	return t.hold.Accounts
}

// sameAdmission says two calls share their admission shape: the same counters with the same
// rules' figures and the same accounts with the same limits and used quota.
func sameAdmission(a, b *Ticket) bool {
	if len(a.counters) != len(b.counters) {
		return false
	}
	for i := range a.counters {
		x, y := &a.counters[i], &b.counters[i]
		if x.Key != y.Key || x.Rule.Window != y.Rule.Window || x.Rule.Requests != y.Rule.Requests ||
			x.Rule.Tokens != y.Rule.Tokens || x.Rule.Concurrency != y.Rule.Concurrency {
			return false
		}
	}
	return slices.EqualFunc(a.accounts(), b.accounts(), func(x, y Account) bool {
		return x.Key == y.Key && x.Limit == y.Limit && x.Used == y.Used
	})
}

// counted is what a call admitted under r counted in its counter's buckets: 1 its request, +2
// its tokens. A ticket keeps the rules it was admitted under, so its release takes back what its
// admission added, even when the rule has changed since.
func counted(r *Rule) int {
	c := 0
	if r.Requests > 0 {
		c++
	}
	if r.Tokens > 0 {
		c += 2
	}
	return c
}

// sameRelease says two calls share their release shape: the same counters with the same windows
// and what they counted there, and the same accounts.
func sameRelease(a, b *Ticket) bool {
	if len(a.counters) != len(b.counters) {
		return false
	}
	for i := range a.counters {
		x, y := &a.counters[i], &b.counters[i]
		if x.Key != y.Key || x.Rule.Window != y.Rule.Window || counted(x.Rule) != counted(y.Rule) {
			return false
		}
	}
	return slices.EqualFunc(a.accounts(), b.accounts(), func(x, y Account) bool { return x.Key == y.Key })
}

// admitShape appends a ticket's admission shape to head.
func (b *batchArgs) admitShape(t *Ticket) {
	b.head = append(b.head, len(t.counters))
	for i := range t.counters {
		r := t.counters[i].Rule
		b.head = append(b.head, b.group(t.counters[i].Key, counterKeys...), r.Window.Milliseconds(), r.Requests, r.Tokens, r.Concurrency)
	}
	as := t.accounts()
	b.head = append(b.head, len(as))
	for i := range as {
		b.head = append(b.head, b.group(as[i].Key, accountKeys...), as[i].Limit, as[i].Used)
	}
}

// releaseShape appends a ticket's release shape to head.
func (b *batchArgs) releaseShape(t *Ticket) {
	b.head = append(b.head, len(t.counters))
	for i := range t.counters {
		r := t.counters[i].Rule
		b.head = append(b.head, b.group(t.counters[i].Key, counterKeys...), r.Window.Milliseconds(), counted(r))
	}
	as := t.accounts()
	b.head = append(b.head, len(as))
	for i := range as {
		b.head = append(b.head, b.group(as[i].Key, accountKeys...))
	}
}

// run sends the batch: EVALSHA with KEYS the batch's keys and then extra (when not empty), ARGV
// consts, the shapes and the calls. It builds the command itself, from arguments already boxed,
// and loads the script when Redis does not have it (NOSCRIPT), as redis.Script.Run does.
func (b *batchArgs) run(ctx context.Context, script *redis.Script, extra string, consts ...any) *redis.Cmd {
	nk := len(b.keys)
	if extra != "" {
		nk++
	}
	cmd := slices.Grow(b.cmd[:0], 4+nk+len(consts)+len(b.head)+len(b.calls))
	cmd = append(cmd, "evalsha", script.Hash(), nk)
	cmd = append(cmd, b.keys...)
	if extra != "" {
		cmd = append(cmd, extra)
	}
	cmd = append(cmd, consts...)
	cmd = append(cmd, len(b.shapes))
	cmd = append(cmd, b.head...)
	cmd = append(cmd, b.calls...)
	b.cmd = cmd
	return b.process(ctx, script, cmd)
}

// process sends a script's command, loading the script first when Redis does not have it.
func (b *batchArgs) process(ctx context.Context, script *redis.Script, cmd []any) *redis.Cmd {
	c := redis.NewCmd(ctx, cmd...)
	_ = b.s.rdb.Process(ctx, c)
	if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		if err := script.Load(ctx, b.s.rdb).Err(); err != nil {
			c.SetErr(err)
			return c
		}
		c = redis.NewCmd(ctx, cmd...)
		_ = b.s.rdb.Process(ctx, c)
	}
	return c
}

// admitBatch admits a batch of calls in one script call; id names the batch (the same for every
// time it is sent). The error is the script call's (Redis could not be asked); each admission's
// own answer (a refusal, errNeedInit) is set on it.
func (s *redisStore) admitBatch(ctx context.Context, id string, as []*admission) error {
	b := s.newBatch(len(as), 5)
	defer b.free()
	for _, a := range as {
		t := a.t
		est, amount := t.Estimate, t.holdAmount()
		if a.many.n > 1 {
			est, amount = a.many.est, a.many.amount
		}
		b.calls = append(b.calls, b.shape(t, sameAdmission, b.admitShape), t.ID, est, amount, a.mode())
	}
	answer, err := b.run(ctx, s.scripts.admit, s.prefix+"b:"+id, s.batchTTLArg, s.leaseArg, s.holdLeaseArg, s.ledgerTTLArg,
		s.instArg).Text()
	if err != nil {
		return err
	}
	now, rest, _ := strings.Cut(answer, ";")
	start, err := strconv.ParseInt(now, 10, 64)
	if err != nil {
		return errUnexpected
	}
	for i, a := range as {
		one, next, more := strings.Cut(rest, ";")
		if more != (i < len(as)-1) {
			return errUnexpected
		}
		if a.rec != nil { // a record: counted whatever the limits, its amount unchanged
			if _, err := strconv.ParseInt(one, 10, 64); err != nil {
				a.err = errUnexpected
			}
			a.t.Start = start
		} else {
			a.ref, a.err = admitted(a.t, start, one)
		}
		rest = next
	}
	return nil
}

// admitted reads a ticket's answer from the admission script (see admitLua); start is the
// batch's now.
func admitted(t *Ticket, start int64, answer string) (*Refusal, error) {
	if answer == "" {
		return nil, errUnexpected
	}
	grants := answer[0] == 'g' && len(answer) > 1
	if grants {
		answer = answer[1:]
	}
	ref, err := refusedBy(t, answer)
	if ref != nil {
		ref.grants = grants
	}
	if ref != nil || err != nil {
		return ref, err
	}
	amount, err := strconv.ParseInt(answer, 10, 64)
	if err != nil {
		return nil, errUnexpected
	}
	t.Start = start
	if t.hold != nil {
		t.hold.Amount = amount
	}
	return nil, nil
}

// refusedBy reads an answer of the admission script that is not an amount: a refusal or an
// error (nil, nil for an amount).
func refusedBy(t *Ticket, answer string) (*Refusal, error) {
	switch answer[0] {
	case 'i':
		return nil, errNeedInit
	case 'e':
		return nil, errUnexpected
	case 'a':
		j, err := strconv.Atoi(answer[1:])
		as := t.accounts()
		if err != nil || j < 1 || j > len(as) {
			return nil, errUnexpected
		}
		return &Refusal{Kind: as[j-1].Kind}, nil
	case 'r':
		idx, rest, _ := strings.Cut(answer[1:], ",")
		kind, clears, _ := strings.Cut(rest, ",")
		i, err1 := strconv.Atoi(idx)
		ms, err2 := strconv.ParseInt(clears, 10, 64)
		if err1 != nil || err2 != nil || i < 1 || i > len(t.counters) {
			return nil, errUnexpected
		}
		return refuse(nil, &t.counters[i-1], kind, ms), nil
	}
	return nil, nil
}

// releaseBatch releases a batch of calls in one script call.
func (s *redisStore) releaseBatch(ctx context.Context, q []pending) error {
	b := s.newBatch(len(q), 8)
	defer b.free()
	for i := range q {
		t := q[i].t
		sv := "0"
		if q[i].served {
			sv = "1"
		}
		b.calls = append(b.calls, b.shape(t, sameRelease, b.releaseShape), t.ID, t.Start, t.Estimate, sv,
			max(q[i].tokens, 0), t.holdAmount(), max(q[i].charge, 0))
	}
	failed, err := b.run(ctx, s.scripts.release, "", s.leaseArg).Int64()
	if err != nil {
		return err
	}
	if failed != 0 {
		return errUnexpected
	}
	return nil
}
