package limits

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// memStore keeps counters in process: exact for one instance.
type memStore struct {
	now func() time.Time
	mu  sync.Mutex
	c   map[string]*memCounter
	// led are the accounts' ledgers (reservations and charges), under the same mutex.
	led memLedgers
}

// memBucket is what a counter counts of the calls that started in one millisecond, as the Redis
// store's buckets: the calls (requests rules) and their tokens (tokens rules: an in-flight call's
// estimate, a served call's real tokens).
type memBucket struct {
	at         int64 // start, Unix milliseconds
	reqs, toks int64
}

// memCounter is one counter in process. Its buckets are kept by start, oldest first, with their
// sums, so that an admission or a release costs the same however many calls the window holds: a
// prune drops buckets off the front, an admission adds to the newest bucket, a release finds its
// call's bucket by its start (binary search). Only a refusal walks buckets, to say when enough
// clear.
type memCounter struct {
	buckets    []memBucket // buckets[head:] are in the window (or not pruned yet), oldest first
	head       int
	reqs, toks int64               // the sums of buckets[head:]
	conc       map[string]struct{} // calls in flight
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, c: map[string]*memCounter{}, led: memLedgers{m: map[string]*memLedger{}}}
}

func (m *memStore) nowMs() int64 { return m.now().UnixMilli() }

func (m *memStore) counter(key string) *memCounter {
	c := m.c[key]
	if c == nil {
		c = &memCounter{conc: map[string]struct{}{}}
		m.c[key] = c
	}
	return c
}

// live are the buckets not pruned.
func (c *memCounter) live() []memBucket { return c.buckets[c.head:] }

// prune drops the buckets that left the window ending at now.
func (c *memCounter) prune(now, window int64) {
	for c.head < len(c.buckets) && c.buckets[c.head].at <= now-window {
		b := &c.buckets[c.head]
		c.reqs, c.toks = c.reqs-b.reqs, c.toks-b.toks
		*b = memBucket{}
		c.head++
	}
	if c.head == len(c.buckets) {
		c.buckets, c.head = c.buckets[:0], 0
	} else if c.head >= 1024 && c.head*2 >= len(c.buckets) {
		n := copy(c.buckets, c.buckets[c.head:])
		clear(c.buckets[n:])
		c.buckets, c.head = c.buckets[:n], 0
	}
}

// add counts a call started at at: reqs requests and toks tokens.
func (c *memCounter) add(at, reqs, toks int64) {
	i, n := len(c.buckets)-1, len(c.buckets)
	switch {
	case n > c.head && c.buckets[i].at == at: // the newest bucket
	case n == c.head || c.buckets[i].at < at: // a new newest bucket
		c.buckets, i = append(c.buckets, memBucket{at: at}), n
	default: // a clock that went back: the bucket goes where its start sorts
		var found bool
		if i, found = c.find(at); !found {
			c.buckets = slices.Insert(c.buckets, i, memBucket{at: at})
		}
	}
	c.count(i, reqs, toks)
}

// find is the index in buckets of the bucket starting at at, or where it would go.
func (c *memCounter) find(at int64) (int, bool) {
	i, found := slices.BinarySearchFunc(c.live(), at, func(b memBucket, at int64) int { return cmp.Compare(b.at, at) })
	return c.head + i, found
}

// change adds reqs requests and toks tokens to the bucket of a call started at at, if it is
// still counted.
func (c *memCounter) change(at, reqs, toks int64) {
	if i, found := c.find(at); found {
		c.count(i, reqs, toks)
	}
}

// count adds reqs requests and toks tokens to bucket i and to the sums.
func (c *memCounter) count(i int, reqs, toks int64) {
	c.buckets[i].reqs += reqs
	c.buckets[i].toks += toks
	c.reqs, c.toks = c.reqs+reqs, c.toks+toks
}

func (c *memCounter) empty() bool {
	return c.head == len(c.buckets) && len(c.conc) == 0
}

// requestsClear is how long until the calls counted fall below limit: until the bucket holding
// the (reqs-limit+1)-th oldest counted call leaves the window. It walks from the nearer end.
func (c *memCounter) requestsClear(limit, window, now int64) int64 {
	rank := c.reqs - limit // 0-based rank of that call among the counted ones, oldest first
	bs := c.live()
	if rank < c.reqs/2 {
		seen := int64(0)
		for _, b := range bs {
			if seen += b.reqs; seen > rank {
				return b.at + window - now
			}
		}
	} else {
		seen := int64(0)
		for i := len(bs) - 1; i >= 0; i-- {
			if seen += bs[i].reqs; seen >= limit {
				return bs[i].at + window - now
			}
		}
	}
	return window
}

// tokensClear is how long until the oldest buckets leave the window so that est fits.
func (c *memCounter) tokensClear(est, limit, window, now int64) int64 {
	used := c.toks
	for _, b := range c.live() {
		if b.toks == 0 {
			continue
		}
		used -= b.toks
		if tokensFit(used, est, limit) {
			return max(b.at+window-now, 1)
		}
	}
	return 1000
}

func (m *memStore) admit(_ context.Context, t *Ticket, _ bool) (*Refusal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.nowMs()
	amount := int64(0)
	if t.hold != nil { // the balance first: a call nobody can pay for is refused as such
		amount = t.hold.Amount
		for i := range t.hold.Accounts {
			a := &t.hold.Accounts[i]
			e := m.led.ledger(a)
			av := available(a, e.charged, e.held)
			if av <= 0 {
				return &Refusal{Kind: a.Kind}, nil
			}
			amount = min(amount, av)
		}
	}
	var ref *Refusal
	for i := range t.counters {
		cn := &t.counters[i]
		r := cn.Rule
		w := r.Window.Milliseconds()
		c := m.counter(cn.Key)
		c.prune(now, w)
		kind, clears := "", int64(0)
		switch {
		case r.Requests > 0 && c.reqs >= r.Requests:
			kind, clears = KindRequests, c.requestsClear(r.Requests, w, now)
		case r.Tokens > 0 && !tokensFit(c.toks, t.Estimate, r.Tokens):
			kind, clears = KindTokens, c.tokensClear(t.Estimate, r.Tokens, w, now)
		case r.Concurrency > 0 && int64(len(c.conc)) >= r.Concurrency:
			kind, clears = KindConcurrency, 1000
		}
		if kind != "" {
			ref = refuse(ref, cn, kind, clears)
		}
	}
	if ref != nil {
		return ref, nil
	}
	t.Start = now
	if t.hold != nil {
		t.hold.Amount = amount
		for i := range t.hold.Accounts {
			m.led.ledger(&t.hold.Accounts[i]).hold(t.ID, amount)
		}
	}
	for i := range t.counters {
		cn := &t.counters[i]
		c := m.counter(cn.Key)
		reqs, toks := runsAs(cn.Rule, t.Estimate)
		if cn.Rule.Requests > 0 || cn.Rule.Tokens > 0 {
			c.add(now, reqs, toks)
		}
		if cn.Rule.Concurrency > 0 {
			c.conc[t.ID] = struct{}{}
		}
	}
	return nil, nil
}

// runsAs is what a call counts in a counter of rule r while it runs: its request (requests
// rules) and its estimate (tokens rules).
func runsAs(r *Rule, est int64) (reqs, toks int64) {
	if r.Requests > 0 {
		reqs = 1
	}
	if r.Tokens > 0 {
		toks = est
	}
	return reqs, toks
}

func (m *memStore) release(_ context.Context, t *Ticket, served bool, tokens, charge int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.hold != nil {
		m.led.settleLocked(t.ID, t.hold, charge)
	}
	for i := range t.counters {
		cn := &t.counters[i]
		c := m.c[cn.Key]
		if c == nil {
			continue
		}
		delete(c.conc, t.ID)
		// In the bucket of its start, an unserved call gives its request and estimate back; a
		// served one's estimate becomes its real tokens.
		reqs, toks := runsAs(cn.Rule, t.Estimate)
		switch {
		case !served:
			c.change(t.Start, -reqs, -toks)
		case cn.Rule.Tokens > 0:
			c.change(t.Start, 0, tokens-toks)
		}
		if c.empty() {
			delete(m.c, cn.Key)
		}
	}
	return nil
}

func (m *memStore) status(_ context.Context, cs []Counter) ([]Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.nowMs()
	out := make([]Usage, len(cs))
	for i := range cs {
		c := m.c[cs[i].Key]
		if c == nil {
			continue
		}
		w := cs[i].Rule.Window.Milliseconds()
		c.prune(now, w)
		u := Usage{Requests: c.reqs, Tokens: c.toks, Concurrency: int64(len(c.conc))}
		for _, b := range c.live() {
			if b.reqs != 0 || b.toks != 0 { // the oldest bucket that counts something
				u.ClearsIn = time.Duration(b.at+w-now) * time.Millisecond
				break
			}
		}
		out[i] = u
	}
	return out, nil
}

// tokensFit reports whether a call estimated at est tokens may start with used tokens counted
// against limit: the window must be under the limit, and the estimate must fit unless the window
// is empty (a call larger than the whole limit runs alone rather than never).
func tokensFit(used, est, limit int64) bool {
	return used < limit && (used == 0 || used+est <= limit)
}

func (m *memStore) available(_ context.Context, a Account) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.led.availableLocked(a), nil
}
