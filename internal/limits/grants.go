package limits

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Allowances. With Redis, a call far from its limits is admitted in process, against an
// allowance its instance took from Redis beforehand: a number of calls' worth of each counter's
// requests, tokens and concurrency slots and of each account's balance, which Redis counts as used
// by that instance for every other admission (never for a status or a balance). The call's record
// goes to Redis after it (held up to recordHold, then sent with the releases in the next batch),
// and there it is counted exactly as an admitted call and taken off the allowance; a call that
// has ended by then is recorded and released in one step. The admission's round trip leaves the
// call's path, and Redis runs one script for many calls' records.
//
// Exactness is kept: at every moment Redis counts each call either in its window (recorded) or in
// its instance's allowance (admitted, not recorded yet), so an admission anywhere sees it; and an
// instance admits in process only what its allowance still covers.
//
//   - Allowances are given far from the limits only: at most an eighth of what is left of each
//     limit, and only when that is at least grantLeast calls' worth. A rule with few slots, a
//     small window count or a balance for few calls is admitted call by call, as without
//     allowances.
//   - A call refused while allowances are out (they would have covered it) makes Redis give none
//     on what refused it for a second; this instance gives its own back at once, the others' lapse
//     within grantLife (an allowance not refilled for that long is given back), and the call is
//     admitted again once, grantWait later.
//   - An instance that stops without giving its allowances back (a crash) loses them at their
//     lease (Config.HoldLease): what a lapsed allowance held of requests and tokens then counts as
//     started at that moment (its instance may have admitted calls against it that it never
//     recorded), its slots and balance free.
//   - A rule or a balance that changed is not admitted against an allowance taken under the old
//     one: the allowance is given back and a new one taken.
//   - While Redis is unreachable no call is admitted against allowances (they are counted in
//     process, as every call then).
const (
	// grantFirst is the calls' worth asked first; an allowance refilled again within
	// grantQuick asks twice as much, up to grantMost.
	grantFirst = 64
	grantMost  = 4096
	grantQuick = 100 * time.Millisecond
	// grantMax bounds the figures allowances are taken on (a limit, a balance, what grantMost
	// calls ask for): the scripts' numbers are exact up to 2^53.
	grantMax = 1 << 50
	// grantLeast is the fewest calls' worth worth taking: less, and the calls are admitted call
	// by call.
	grantLeast = 8
	// grantLife: an allowance not refilled for this long is given back.
	grantLife = 250 * time.Millisecond
	// grantWait is how long a call refused while allowances were out waits before it is admitted
	// again: the others' allowances lapse within grantLife, and their records and give-backs
	// take a round trip.
	grantWait = grantLife + 50*time.Millisecond
	// maxUnrecorded bounds the calls admitted against allowances whose records are not in
	// Redis yet: past it, calls are admitted one by one (each waits for its round trip), so that
	// an instance admitting faster than Redis records never builds a backlog. Four record
	// batches.
	maxUnrecorded = 4 * maxBatch
	// grantCool: after an ask that gave nothing, the same counter or account is not asked again
	// for this long.
	grantCool = time.Second
)

// grant is this instance's allowance on one counter or account: what it still covers, the rule's
// figures or the balance it was taken under.
type grant struct {
	key     string
	account bool
	rule    Rule  // a counter's rule figures (Window, Requests, Tokens, Concurrency)
	limit   int64 // an account's limit
	r, t, k int64 // a counter's requests, tokens and slots left
	a       int64 // an account's balance left
	want    int64 // calls' worth asked next
	filled  time.Time
	cool    time.Time
	busy    bool // an ask is in flight
	timer   *time.Timer
}

// granting holds this instance's allowances.
type granting struct {
	mu sync.Mutex
	m  map[string]*grant
	// waits are when the waits for allowances to come back end, per counter or account key
	// (giveBack).
	waits map[string]time.Time
}

// maxWaits: past this many keys, the waits long over are forgotten.
const maxWaits = 1024

// keys are a ticket's counters' and accounts' keys.
func (t *Ticket) keys() []string {
	ks := make([]string, 0, len(t.counters)+len(t.accounts()))
	for i := range t.counters {
		ks = append(ks, t.counters[i].Key)
	}
	for _, a := range t.accounts() {
		ks = append(ks, a.Key)
	}
	return ks
}

// limited says whether a rule limits anything.
func limited(r *Rule) bool { return r.Requests > 0 || r.Tokens > 0 || r.Concurrency > 0 }

// same says whether the allowance was taken under the rule's figures.
func (g *grant) same(r *Rule) bool {
	return g.rule.Window == r.Window && g.rule.Requests == r.Requests && g.rule.Tokens == r.Tokens &&
		g.rule.Concurrency == r.Concurrency
}

// covers says whether a counter's allowance covers a call of estimate est.
func (g *grant) covers(r *Rule, est int64) bool {
	return g.same(r) && (r.Requests == 0 || g.r >= 1) && (r.Tokens == 0 || g.t >= est) && (r.Concurrency == 0 || g.k >= 1)
}

// low says whether a counter's allowance is down to less than half of its last ask.
func (g *grant) low(est int64) bool {
	half := max(g.want/2, 1)
	if g.account {
		return g.a < half*max(est, 1)
	}
	return (g.rule.Requests > 0 && g.r < half) || (g.rule.Tokens > 0 && g.t < half*max(est, 1)) ||
		(g.rule.Concurrency > 0 && g.k < half)
}

// askable says whether an allowance may be asked for now.
func (g *grant) askable(now time.Time) bool { return !g.busy && !now.Before(g.cool) }

// holdAmount is what a ticket reserves on each account (0 without a hold).
func (t *Ticket) holdAmount() int64 {
	if t.hold == nil {
		return 0
	}
	return t.hold.Amount
}

// admitLocal admits t against this instance's allowances when they cover it (every counter whose
// rule limits something, every account), taking it off them; it asks Redis for more, off the
// call's path, when one is missing or running low. A call admitted so is queued to be recorded.
func (l *Limiter) admitLocal(t *Ticket) bool {
	if l.noGrants || l.down.Load() || l.unrecorded.Load() >= maxUnrecorded {
		return false
	}
	amount := max(t.holdAmount(), 1)
	now := time.Now()
	gr := &l.gr
	gr.mu.Lock()
	ok := true
	for i := range t.counters {
		c := &t.counters[i]
		if g := gr.m[c.Key]; limited(c.Rule) && (g == nil || !g.covers(c.Rule, t.Estimate)) {
			ok = false
		}
	}
	for _, a := range t.accounts() {
		if g := gr.m[a.Key]; g == nil || g.limit != a.Limit || g.a < amount {
			ok = false
		}
	}
	if ok {
		for i := range t.counters {
			if g := gr.m[t.counters[i].Key]; g != nil {
				g.r, g.t, g.k = max(g.r-1, 0), g.t-t.Estimate, max(g.k-1, 0)
				if g.rule.Tokens == 0 {
					g.t = 0
				}
			}
		}
		for _, a := range t.accounts() {
			gr.m[a.Key].a -= t.holdAmount()
		}
	}
	ask := l.askLocked(t, now)
	gr.mu.Unlock()
	if ask != nil {
		go l.refill(ask)
	}
	if !ok {
		return false
	}
	t.granted, t.redis = true, true
	l.locals.Add(1)
	l.queueRecord(t)
	return true
}

// grantAsk is one ask for allowances (or give-back: wants below 0) on counters and accounts.
type grantAsk struct {
	cs    []grantCounter
	as    []grantAccount
	grant []*grant // the allowances asked for, counters then accounts (nil for a give-back)
}

type grantCounter struct {
	key         string
	rule        Rule
	want, least [3]int64 // requests, tokens, slots
}

type grantAccount struct {
	key         string
	limit, used int64
	want, least int64
}

// askLocked builds an ask for t's counters and accounts whose allowance is missing, stale, short
// or low and may be asked for now (marking them busy); nil when there are none. The caller holds
// gr.mu.
func (l *Limiter) askLocked(t *Ticket, now time.Time) *grantAsk {
	gr := &l.gr
	var q *grantAsk
	est, amount := max(t.Estimate, 1), max(t.holdAmount(), 1)
	cooling := func(k string) bool { g := gr.m[k]; return g != nil && now.Before(g.cool) }
	for i := range t.counters {
		if cooling(t.counters[i].Key) {
			return nil // one of its keys gets no allowance now: the others' would go unused
		}
	}
	for _, a := range t.accounts() {
		if cooling(a.Key) {
			return nil
		}
	}
	for i := range t.counters {
		c := &t.counters[i]
		if !limited(c.Rule) {
			continue
		}
		g := gr.m[c.Key]
		if g != nil && !g.same(c.Rule) && !g.busy {
			l.dropLocked(g) // taken under other figures: given back, a new one asked for
			g = nil
		}
		if g != nil && (!g.askable(now) || (g.covers(c.Rule, t.Estimate) && !g.low(t.Estimate))) {
			continue
		}
		if g == nil {
			g = l.newGrant(c.Key, false)
			g.rule = Rule{Window: c.Rule.Window, Requests: c.Rule.Requests, Tokens: c.Rule.Tokens, Concurrency: c.Rule.Concurrency}
		}
		n := g.want
		gc := grantCounter{key: c.Key, rule: g.rule}
		fits := true
		for x, lim := range [3]int64{c.Rule.Requests, c.Rule.Tokens, c.Rule.Concurrency} {
			if lim > 0 {
				per := int64(1)
				if x == 1 {
					per = est
				}
				gc.want[x], gc.least[x] = n*per, grantLeast*per
				fits = fits && lim <= grantMax && per <= grantMax/grantMost
			}
		}
		if !fits { // beyond what the scripts count exactly: call by call
			g.cool = now.Add(grantCool)
			continue
		}
		g.busy = true
		if q == nil {
			q = &grantAsk{}
		}
		q.cs = append(q.cs, gc)
		q.grant = append(q.grant, g)
	}
	for _, a := range t.accounts() {
		g := gr.m[a.Key]
		if g != nil && g.limit != a.Limit && !g.busy {
			l.dropLocked(g)
			g = nil
		}
		if g != nil && (!g.askable(now) || (g.a >= amount && !g.low(amount))) {
			continue
		}
		if g == nil {
			g = l.newGrant(a.Key, true)
			g.limit = a.Limit
		}
		if a.Limit > grantMax || amount > grantMax/grantMost {
			g.cool = now.Add(grantCool)
			continue
		}
		g.busy = true
		if q == nil {
			q = &grantAsk{}
		}
		q.as = append(q.as, grantAccount{key: a.Key, limit: a.Limit, used: a.Used, want: g.want * amount, least: grantLeast * amount})
		q.grant = append(q.grant, g)
	}
	return q
}

// newGrant adds an empty allowance (the caller holds gr.mu); it is given back once it has not
// been refilled for grantLife.
func (l *Limiter) newGrant(key string, account bool) *grant {
	g := &grant{key: key, account: account, want: grantFirst}
	l.gr.m[key] = g
	g.timer = time.AfterFunc(grantLife, func() { l.lapse(g) })
	return g
}

// lapse gives an allowance back when it has not been refilled for grantLife, else looks again
// when it would have.
func (l *Limiter) lapse(g *grant) {
	gr := &l.gr
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if gr.m[g.key] != g {
		return
	}
	now := time.Now()
	if idle := now.Sub(g.filled); g.busy || idle < grantLife || now.Before(g.cool) {
		// In use, or cooling: an allowance that was refused stays (empty) until its cooling
		// ends, so that it is not asked for again before.
		g.timer.Reset(max(grantLife-idle, g.cool.Sub(now), time.Millisecond))
		return
	}
	l.dropLocked(g)
}

// dropLocked removes an allowance and queues what it still covers to be given back (the caller
// holds gr.mu). An ask in flight for it gives back what it gets.
func (l *Limiter) dropLocked(g *grant) {
	delete(l.gr.m, g.key)
	g.timer.Stop()
	l.giveBackLater(g, g.r, g.t, g.k, g.a)
	g.r, g.t, g.k, g.a = 0, 0, 0, 0
}

// giveBackLater queues the give-back of part of an allowance (nothing when the part is empty).
func (l *Limiter) giveBackLater(g *grant, r, t, k, a int64) {
	if r <= 0 && t <= 0 && k <= 0 && a <= 0 {
		return
	}
	q := &grantAsk{}
	if g.account {
		q.as = append(q.as, grantAccount{key: g.key, limit: g.limit, want: -max(a, 0)})
	} else {
		q.cs = append(q.cs, grantCounter{key: g.key, rule: g.rule, want: [3]int64{-max(r, 0), -max(t, 0), -max(k, 0)}})
	}
	l.queueBack(q)
}

// refill sends an ask for allowances and adds what Redis gave, all or nothing: when a key got
// nothing (it cools for grantCool, and no ask is made for a call with a cooling key), what the
// others got goes back at once, as does what an allowance dropped meanwhile (given back, or
// taken under other figures) got.
func (l *Limiter) refill(q *grantAsk) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.commands.Add(1)
	got, err := l.rds.grant(ctx, q)
	now := time.Now()
	gr := &l.gr
	gr.mu.Lock()
	defer gr.mu.Unlock()
	all := err == nil
	for i := range q.grant {
		all = all && got[i][0]+got[i][1]+got[i][2] > 0
	}
	for i, g := range q.grant {
		g.busy = false
		var r, t, k, a int64
		if err == nil {
			if g.account {
				a = got[i][0]
			} else {
				r, t, k = got[i][0], got[i][1], got[i][2]
			}
		}
		if a < 0 { // the account's ledger is not started yet: asked again by the next call
			continue
		}
		if r+t+k+a == 0 {
			g.cool, g.want = now.Add(grantCool), grantFirst
			continue
		}
		if !all || gr.m[g.key] != g {
			// Another key of the ask got nothing (the calls could not use this one), or it
			// was dropped meanwhile: what it got goes back at once.
			l.giveBackLater(g, r, t, k, a)
			continue
		}
		if now.Sub(g.filled) < grantQuick {
			g.want = min(2*g.want, grantMost)
		}
		g.filled = now
		g.r, g.t, g.k, g.a = g.r+r, g.t+t, g.k+k, g.a+a
	}
	if err != nil {
		l.log.Debug("limits: asking Redis for allowances failed; calls are admitted one by one meanwhile", "error", err)
	}
}

// giveBack drops this instance's allowances on t's counters and accounts (a call on them was
// refused while allowances were out), waits until they are given back, then until grantWait has
// passed for the other instances' to lapse. It says whether t is to be admitted again. Calls
// refused meanwhile on the same counters or accounts wait for the same end; for grantCool after
// it, a refusal stands without waiting (allowances still out then are a stopped instance's,
// until their lease).
func (l *Limiter) giveBack(ctx context.Context, t *Ticket) bool {
	gr := &l.gr
	now := time.Now()
	gr.mu.Lock()
	var until time.Time
	for _, k := range t.keys() {
		if w := gr.waits[k]; w.After(until) {
			until = w
		}
	}
	switch {
	case now.Before(until): // a wait on the same counters or accounts is under way: it ends then
	case now.Before(until.Add(grantCool)):
		gr.mu.Unlock()
		return false
	default:
		until = now.Add(grantWait)
		for _, k := range t.keys() {
			if g := gr.m[k]; g != nil {
				l.dropLocked(g)
			}
			gr.waits[k] = until
		}
		if len(gr.waits) > maxWaits {
			for k, w := range gr.waits {
				if now.After(w.Add(grantCool)) {
					delete(gr.waits, k)
				}
			}
		}
	}
	gr.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, readmitWait)
	l.waitReleases(wctx)
	cancel()
	return pause(ctx, time.Until(until))
}

// giveAllBack drops every allowance of this instance (shutdown), to be given back with the queued
// releases.
func (l *Limiter) giveAllBack() {
	gr := &l.gr
	gr.mu.Lock()
	defer gr.mu.Unlock()
	for _, g := range gr.m {
		l.dropLocked(g)
	}
}

// grantLua, the allowance script: asks for allowances or gives them back. KEYS: the counters' and
// accounts' keys as for admitLua. ARGV: the instance's id, the allowance lease, the concurrency
// lease, the hold lease and the ledger's time to live (ms); the number of counters, per counter
// the offset of its first key, window ms, requests, tokens, concurrency, then what is wanted of
// requests, tokens and slots (below 0: given back) and the least worth taking of each; then the
// number of accounts, per account the offset of its first key, limit, used, the amount wanted
// (below 0: given back) and the least worth taking. An ask gives, per figure the rule limits, the
// least of what is wanted and an eighth of what is left (counting every allowance out as used),
// all of a counter's figures or none: none when one is below its least, or when a call was
// refused there with allowances out within the last second (gw); -1 on an account whose ledger
// has not started (the next admission starts it from the database). A give-back takes at most what this instance's allowance holds. It answers per counter
// "<requests>,<tokens>,<slots>" given (or given back), then per account the amount, joined by ';'
// ("e" where its part failed).
const grantLua = luaHelpers + luaBuckets + luaState + luaGather + luaGrants + `
gfield = 'g:' .. ARGV[1]
local glease, lease, hlease, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function cgrant(C, lim, want, least)
  local st = states[C.km]
  if st == nil then
    st = counter(C.kr, C.kt, C.kc, C.km, C.hz)
    states[C.km] = st
  end
  st.hz = math.max(st.hz or 0, C.hz)
  local mine = gmine(st, C.km) or {0, 0, 0, 0}
  if want[1] < 0 or want[2] < 0 or want[3] < 0 then
    local back = {0, 0, 0}
    if st.g then
      for x = 1, 3 do
        back[x] = math.min(mine[x], -math.min(want[x], 0))
        mine[x] = mine[x] - back[x]
      end
      st.ar, st.at, st.ac = math.max(st.ar - back[1], 0), math.max(st.at - back[2], 0), math.max(st.ac - back[3], 0)
      st.gd, dirty[C.km] = true, C
    end
    return d(back[1]) .. ',' .. d(back[2]) .. ',' .. d(back[3])
  end
  if now - st.p >= C.w / 4 then
    flush(C.kc)
    cprune(st, C, lease)
    dirty[C.km] = C
  end
  cgprune(st, C)
  if st.gw > now then return '0,0,0' end
  local used, got = {st.n + st.ar, st.s + st.at, st.f + st.ac}, {0, 0, 0}
  for x = 1, 3 do
    if lim[x] > 0 and want[x] > 0 then
      got[x] = math.min(want[x], math.floor((lim[x] - used[x]) / 8))
      if got[x] < least[x] or got[x] <= 0 then return '0,0,0' end
    end
  end
  if got[1] + got[2] + got[3] == 0 then return '0,0,0' end
  for x = 1, 3 do mine[x] = mine[x] + got[x] end
  mine[4] = now + glease
  st.g, st.ar, st.at, st.ac = mine, st.ar + got[1], st.at + got[2], st.ac + got[3]
  if st.gx == 0 or mine[4] < st.gx then st.gx = mine[4] end
  st.gd, dirty[C.km] = true, C
  return d(got[1]) .. ',' .. d(got[2]) .. ',' .. d(got[3])
end
local function agrant(A, want, least)
  local L = ledgers[A.kh]
  if L == nil then
    L = ledger(A.kh, A.used) or false
    ledgers[A.kh] = L
  end
  if not L then return '-1' end -- not started: the next admission starts it
  if A.used > L.c then L.c = A.used end
  if not L.h or not L.z or now - L.p >= hlease then
    flush(A.kz)
    lpurge(L, A.kz)
  end
  local mine = gmine(L, A.kh) or {0, 0}
  if want < 0 then
    local back = 0
    if L.g then
      back = math.min(mine[1], -want)
      mine[1], L.ga, L.gd, dirtyL[A.kh] = mine[1] - back, math.max(L.ga - back, 0), true, A
    end
    return d(back)
  end
  agprune(L, A)
  if L.gw > now then return '0' end
  local got = math.min(want, math.floor((A.limit - L.c - L.h - L.ga) / 8))
  if got < least or got <= 0 then return '0' end
  mine[1], mine[2] = mine[1] + got, now + glease
  L.g, L.ga = mine, L.ga + got
  if L.gx == 0 or mine[2] < L.gx then L.gx = mine[2] end
  L.gd, dirtyL[A.kh] = true, A
  return d(got)
end
local out, a = {}, 6
for _ = 1, tonumber(ARGV[a]) do
  local k, w = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local C = {kr = KEYS[k + 1], kt = KEYS[k + 2], kc = KEYS[k + 3], km = KEYS[k + 4], w = w, hz = math.max(w, lease)}
  local lim = {tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])}
  local want = {tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])}
  local least = {tonumber(ARGV[a + 9]), tonumber(ARGV[a + 10]), tonumber(ARGV[a + 11])}
  a = a + 11
  local ok, r = pcall(cgrant, C, lim, want, least)
  if ok then out[#out + 1] = r else out[#out + 1] = 'e' end
end
a = a + 1
for _ = 1, tonumber(ARGV[a]) do
  local k = tonumber(ARGV[a + 1])
  local A = {kh = KEYS[k + 1], kz = KEYS[k + 2], limit = tonumber(ARGV[a + 2]), used = tonumber(ARGV[a + 3])}
  local ok, r = pcall(agrant, A, tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]))
  a = a + 5
  if ok then out[#out + 1] = r else out[#out + 1] = 'e' end
end
writeall(ttl)
return table.concat(out, ';')
`

// grant runs one ask (or give-back) and returns what each counter (requests, tokens, slots) and
// account (amount) got, in the ask's order; a part that failed got nothing.
func (s *redisStore) grant(ctx context.Context, q *grantAsk) ([][3]int64, error) {
	b := s.newBatch(0, 0)
	defer b.free()
	b.head = append(b.head, len(q.cs))
	for i := range q.cs {
		c := &q.cs[i]
		b.head = append(b.head, b.group(c.key, counterKeys...), c.rule.Window.Milliseconds(), c.rule.Requests, c.rule.Tokens,
			c.rule.Concurrency, c.want[0], c.want[1], c.want[2], c.least[0], c.least[1], c.least[2])
	}
	b.head = append(b.head, len(q.as))
	for i := range q.as {
		a := &q.as[i]
		b.head = append(b.head, b.group(a.key, accountKeys...), a.limit, a.used, a.want, a.least)
	}
	answer, err := b.runRaw(ctx, s.scripts.grant, s.instArg, s.holdLeaseArg, s.leaseArg, s.holdLeaseArg, s.ledgerTTLArg).Text()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(answer, ";")
	if len(parts) != len(q.cs)+len(q.as) {
		return nil, errUnexpected
	}
	out := make([][3]int64, len(parts))
	for i, p := range parts {
		for x, f := range strings.SplitN(p, ",", 3) {
			out[i][x], _ = strconv.ParseInt(f, 10, 64) // "e": nothing
		}
	}
	return out, nil
}

// runRaw sends the batch's keys and head after consts (no shapes or calls), as run does.
func (b *batchArgs) runRaw(ctx context.Context, script *redis.Script, consts ...any) *redis.Cmd {
	cmd := make([]any, 0, 3+len(b.keys)+len(consts)+len(b.head))
	cmd = append(cmd, "evalsha", script.Hash(), len(b.keys))
	cmd = append(cmd, b.keys...)
	cmd = append(cmd, consts...)
	cmd = append(cmd, b.head...)
	return b.process(ctx, script, cmd)
}
