package limits

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps counters in Redis, shared by every instance. Each counter is four keys: a
// sorted set of admitted calls by start (requests), one of token entries "id:n" by start (an
// in-flight call's entry holds its estimate), one of calls in flight by lease expiry, and the
// running sum of the token entries (kept as entries are added, replaced and leave the window,
// never outliving the token set, rebuilt from it when missing: a TPM rule costs the same per
// call whatever the window holds). All
// keys carry the hash tag {lim}, so one call's script runs on one slot of a Redis Cluster. Times
// come from Redis (TIME), so instances' clocks never disagree.
//
// An account's ledger (ledger.go) is two keys under the same tag: a hash whose field c is the
// quota charged through the ledger (never below the database's used quota, which each call
// passes in) and whose field h is the sum of the live reservations (kept as they are added,
// released and expire, so an admission costs the same with 1 or 1,000 calls in flight; rebuilt
// from the set when missing), and a sorted set of reservations "id:amount" by lease expiry.
type redisStore struct {
	rdb       redis.UniversalClient
	prefix    string
	lease     time.Duration
	holdLease time.Duration
}

// errNeedInit: the ledger holds nothing for an account of the hold; admit again with accounts
// fresh from the database.
var errNeedInit = errors.New("limits: ledger not started")

// errUnexpected: a script answered something the store does not understand.
var errUnexpected = errors.New("limits: unexpected answer from Redis")

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
local function amounts(es)
  local s = 0
  for j = 1, #es do s = s + (tonumber(string.match(es[j], ':(%d+)$')) or 0) end
  return s
end
local function tsum(kt, ks, cut)
  local s = redis.call('GET', ks)
  local gone = redis.call('ZRANGEBYSCORE', kt, '-inf', cut)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', kt, '-inf', cut)
    if s then s = redis.call('DECRBY', ks, string.format('%.0f', amounts(gone))) end
  end
  if not s then
    s = amounts(redis.call('ZRANGE', kt, 0, -1))
    local ttl = redis.call('PTTL', kt)
    if ttl > 0 then redis.call('SET', ks, string.format('%.0f', s), 'PX', ttl) end
  end
  return tonumber(s)
end
local function held(kh, key)
  local h = redis.call('HGET', kh, 'h')
  local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if h then h = redis.call('HINCRBY', kh, 'h', string.format('%.0f', 0 - amounts(gone))) end
  end
  if not h then
    h = amounts(redis.call('ZRANGE', key, 0, -1))
    redis.call('HSET', kh, 'h', string.format('%.0f', h))
  end
  return tonumber(h)
end
`

// admitScript: KEYS per counter (req, tok, conc, token sum), then per account (ledger hash, reservations),
// then the ticket's key; ARGV id, estimate, lease ms, counters n, then per counter window ms,
// requests, tokens, concurrency, then amount, hold lease ms, ledger ttl ms, init (0/1), then per
// account limit and used. Returns {1, now, amount reserved}, {0, refused index, kind, clears ms},
// {3, account index} (the account's balance is used up) or {2} (an account's ledger is missing
// and init is 0).
//
// The script is idempotent per ticket: an admission is remembered in the ticket's key (field a,
// "now:amount", for ticketTTL), and the same ticket admitted again answers that admission and
// changes nothing. A client that resends the script after a timeout (go-redis does, and so does
// the Limiter while Redis is slow) can therefore never count one call twice, nor refuse a call
// on the slot its own first attempt took.
var admitScript = redis.NewScript(luaHelpers + `
local tk = KEYS[#KEYS]
local prev = redis.call('HGET', tk, 'a')
if prev then
  local at, amt = string.match(prev, '^(%d+):(%d+)$')
  return {1, tonumber(at), tonumber(amt)}
end
local id, est, lease, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = 5 + n * 4
local amount, hlease, ttl, init = tonumber(ARGV[b]), tonumber(ARGV[b+1]), tonumber(ARGV[b+2]), ARGV[b+3] == '1'
local m = (#KEYS - 1 - 4 * n) / 2
local charged = {}
for j = 0, m - 1 do
  local kh, kz = KEYS[4*n+1+j*2], KEYS[4*n+2+j*2]
  local limit, used = tonumber(ARGV[b+4+j*2]), tonumber(ARGV[b+5+j*2])
  local c = redis.call('HGET', kh, 'c')
  if not c and not init then return {2} end
  c = math.max(tonumber(c) or 0, used)
  charged[j + 1] = c
  local av = limit - c - held(kh, kz)
  if av <= 0 then return {3, j + 1} end
  if av < amount then amount = av end
end
local refused, kind, clears = 0, '', 0
for i = 0, n - 1 do
  local w, rq, tk, cc = tonumber(ARGV[5+i*4]), tonumber(ARGV[6+i*4]), tonumber(ARGV[7+i*4]), tonumber(ARGV[8+i*4])
  local kr, kt, kc, ks = KEYS[1+i*4], KEYS[2+i*4], KEYS[3+i*4], KEYS[4+i*4]
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
    local used = tsum(kt, ks, now - w)
    if not fits(used, est, tk) then
      k, c = 'tokens', 1000
      local _, es = tokens(kt)
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
  local w, rq, tk, cc = tonumber(ARGV[5+i*4]), tonumber(ARGV[6+i*4]), tonumber(ARGV[7+i*4]), tonumber(ARGV[8+i*4])
  local kr, kt, kc, ks = KEYS[1+i*4], KEYS[2+i*4], KEYS[3+i*4], KEYS[4+i*4]
  if rq > 0 then redis.call('ZADD', kr, now, id); redis.call('PEXPIRE', kr, w) end
  if tk > 0 then
    if redis.call('ZADD', kt, now, id .. ':' .. est) == 1 then redis.call('INCRBY', ks, string.format('%.0f', est)) end
    redis.call('PEXPIRE', kt, w)
    redis.call('PEXPIRE', ks, w)
  end
  if cc > 0 then redis.call('ZADD', kc, now + lease, id); redis.call('PEXPIRE', kc, lease) end
end
for j = 0, m - 1 do
  local kh, kz = KEYS[4*n+1+j*2], KEYS[4*n+2+j*2]
  redis.call('HSET', kh, 'c', string.format('%.0f', charged[j + 1]))
  redis.call('PEXPIRE', kh, ttl)
  if redis.call('ZADD', kz, now + hlease, id .. ':' .. string.format('%.0f', amount)) == 1 then
    redis.call('HINCRBY', kh, 'h', string.format('%.0f', amount))
  end
  redis.call('PEXPIRE', kz, ttl)
end
redis.call('HSET', tk, 'a', now .. ':' .. string.format('%.0f', amount))
redis.call('PEXPIRE', tk, tonumber(ARGV[b+4+m*2]))
return {1, now, amount}
`)

// releaseScript: KEYS per counter (req, tok, conc, token sum), then per account (ledger hash, reservations),
// then the ticket's key; ARGV id, start ms, estimate, served (0/1), tokens, counters n, amount,
// charge, ticket ttl ms, then per counter window ms. The estimate's token entry becomes the real
// count; each account's reservation is dropped and the charge counted (on a ledger that still
// exists: a missing one starts again from the database, where the charge lands). Idempotent per
// ticket (field r of the ticket's key): a resent release changes nothing and answers 0.
var releaseScript = redis.NewScript(`
local tk = KEYS[#KEYS]
if redis.call('HSETNX', tk, 'r', 1) == 0 then return 0 end
redis.call('PEXPIRE', tk, tonumber(ARGV[9]))
local id, start, est, served, used = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local n, amount, charge = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
for j = 0, (#KEYS - 1 - 4 * n) / 2 - 1 do
  local kh, kz = KEYS[4*n+1+j*2], KEYS[4*n+2+j*2]
  if redis.call('ZREM', kz, id .. ':' .. amount) == 1 and redis.call('HEXISTS', kh, 'h') == 1 then
    redis.call('HINCRBY', kh, 'h', string.format('%.0f', 0 - tonumber(amount)))
  end
  if charge > 0 and redis.call('EXISTS', kh) == 1 then redis.call('HINCRBY', kh, 'c', charge) end
end
for i = 0, n - 1 do
  local w = tonumber(ARGV[10+i])
  local kr, kt, kc, ks = KEYS[1+i*4], KEYS[2+i*4], KEYS[3+i*4], KEYS[4+i*4]
  redis.call('ZREM', kc, id)
  if not served then redis.call('ZREM', kr, id) end
  if redis.call('ZREM', kt, id .. ':' .. est) == 1 then
    local sum = redis.call('EXISTS', ks) == 1
    if sum then redis.call('DECRBY', ks, est) end
    if served and used > 0 then
      redis.call('ZADD', kt, start, id .. ':' .. used)
      if sum then redis.call('INCRBY', ks, string.format('%.0f', used)) end
      redis.call('PEXPIRE', kt, w)
      redis.call('PEXPIRE', ks, w)
    end
  end
end
return 1
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

func (s *redisStore) keys(cs []Counter, h *Hold) []string {
	n := 4*len(cs) + 1
	if h != nil {
		n += 2 * len(h.Accounts)
	}
	ks := make([]string, 0, n)
	for i := range cs {
		k := s.prefix + cs[i].Key
		ks = append(ks, k+":r", k+":t", k+":c", k+":s")
	}
	if h != nil {
		for i := range h.Accounts {
			k := s.prefix + h.Accounts[i].Key
			ks = append(ks, k+":c", k+":h")
		}
	}
	return ks
}

// ticketTTL is how long Redis remembers a ticket's admission and release: longer than any
// resend of the same script (a client's retries after a timeout, the Limiter's while Redis is
// slow), so that a resent script finds what its first run did.
const ticketTTL = 10 * time.Minute

// ticketKeys are a ticket's script keys: its counters' and accounts' keys, then its own.
func (s *redisStore) ticketKeys(t *Ticket) []string {
	return append(s.keys(t.counters, t.hold), s.prefix+"t:"+t.ID)
}

func (s *redisStore) admit(ctx context.Context, t *Ticket, init bool) (*Refusal, error) {
	h := t.hold
	if h == nil {
		h = &Hold{}
	}
	args := make([]any, 0, 8+4*len(t.counters)+2*len(h.Accounts))
	args = append(args, t.ID, t.Estimate, s.lease.Milliseconds(), len(t.counters))
	for i := range t.counters {
		r := t.counters[i].Rule
		args = append(args, r.Window.Milliseconds(), r.Requests, r.Tokens, r.Concurrency)
	}
	in := "0"
	if init {
		in = "1"
	}
	args = append(args, h.Amount, s.holdLease.Milliseconds(), ledgerTTL.Milliseconds(), in)
	for i := range h.Accounts {
		args = append(args, h.Accounts[i].Limit, h.Accounts[i].Used)
	}
	args = append(args, ticketTTL.Milliseconds())
	res, err := admitScript.Run(ctx, s.rdb, s.ticketKeys(t), args...).Slice()
	if err != nil {
		return nil, err
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
		if j < 1 || int(j) > len(h.Accounts) {
			return nil, errUnexpected
		}
		return &Refusal{Kind: h.Accounts[j-1].Kind}, nil
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

func (s *redisStore) release(ctx context.Context, t *Ticket, served bool, tokens, charge int64) error {
	keys, args := s.releaseCall(t, served, tokens, charge)
	return releaseScript.Run(ctx, s.rdb, keys, args...).Err()
}

// releaseCall is the release script's keys and arguments for a ticket.
func (s *redisStore) releaseCall(t *Ticket, served bool, tokens, charge int64) ([]string, []any) {
	sv := "0"
	if served {
		sv = "1"
	}
	var amount int64
	if t.hold != nil {
		amount = t.hold.Amount
	}
	args := make([]any, 0, 9+len(t.counters))
	args = append(args, t.ID, t.Start, strconv.FormatInt(t.Estimate, 10), sv, max(tokens, 0), len(t.counters), amount, max(charge, 0),
		ticketTTL.Milliseconds())
	for i := range t.counters {
		args = append(args, t.counters[i].Rule.Window.Milliseconds())
	}
	return s.ticketKeys(t), args
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
	res, err := statusScript.Run(ctx, s.rdb, s.keys(cs, nil), args...).Int64Slice()
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
