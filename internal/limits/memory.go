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

type memEntry struct {
	at int64 // start, Unix milliseconds
	id string
	n  int64 // tokens (token entries)
}

type memCounter struct {
	starts []memEntry          // admitted calls, oldest first
	tokens []memEntry          // tokens by start; an in-flight call's entry holds its estimate
	conc   map[string]struct{} // calls in flight
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

// prune drops what left the window ending at now.
func (c *memCounter) prune(now, window int64) {
	i := 0
	for i < len(c.starts) && c.starts[i].at <= now-window {
		i++
	}
	c.starts = c.starts[i:]
	j := 0
	for _, e := range c.tokens {
		if e.at > now-window {
			c.tokens[j] = e
			j++
		}
	}
	c.tokens = c.tokens[:j]
}

func (c *memCounter) empty() bool {
	return len(c.starts) == 0 && len(c.tokens) == 0 && len(c.conc) == 0
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
			av := available(a, e.charged, e.held())
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
		case r.Requests > 0 && int64(len(c.starts)) >= r.Requests:
			kind, clears = KindRequests, c.starts[int64(len(c.starts))-r.Requests].at+w-now
		case r.Tokens > 0 && !tokensFit(sumTokens(c.tokens), t.Estimate, r.Tokens):
			kind, clears = KindTokens, tokensClear(c.tokens, t.Estimate, r.Tokens, w, now)
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
			m.led.ledger(&t.hold.Accounts[i]).holds[t.ID] = amount
		}
	}
	for i := range t.counters {
		cn := &t.counters[i]
		c := m.counter(cn.Key)
		if cn.Rule.Requests > 0 {
			c.starts = append(c.starts, memEntry{at: now, id: t.ID})
		}
		if cn.Rule.Tokens > 0 {
			c.tokens = append(c.tokens, memEntry{at: now, id: t.ID, n: t.Estimate})
		}
		if cn.Rule.Concurrency > 0 {
			c.conc[t.ID] = struct{}{}
		}
	}
	return nil, nil
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
		if !served {
			for j, e := range c.starts {
				if e.id == t.ID {
					c.starts = append(c.starts[:j], c.starts[j+1:]...)
					break
				}
			}
		}
		for j := range c.tokens {
			if c.tokens[j].id == t.ID {
				c.tokens[j].n = tokens
				if !served || tokens == 0 {
					c.tokens = append(c.tokens[:j], c.tokens[j+1:]...)
				}
				break
			}
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
		u := Usage{Requests: int64(len(c.starts)), Tokens: sumTokens(c.tokens), Concurrency: int64(len(c.conc))}
		oldest := int64(-1)
		if len(c.starts) > 0 {
			oldest = c.starts[0].at
		}
		for _, e := range c.tokens {
			if oldest < 0 || e.at < oldest {
				oldest = e.at
			}
		}
		if oldest >= 0 {
			u.ClearsIn = time.Duration(oldest+w-now) * time.Millisecond
		}
		out[i] = u
	}
	return out, nil
}

func sumTokens(es []memEntry) int64 {
	var s int64
	for _, e := range es {
		s += e.n
	}
	return s
}

// tokensFit reports whether a call estimated at est tokens may start with used tokens counted
// against limit: the window must be under the limit, and the estimate must fit unless the window
// is empty (a call larger than the whole limit runs alone rather than never).
func tokensFit(used, est, limit int64) bool {
	return used < limit && (used == 0 || used+est <= limit)
}

// tokensClear is how long until the oldest entries leave the window so that est fits.
func tokensClear(es []memEntry, est, limit, window, now int64) int64 {
	used := sumTokens(es)
	sorted := slices.Clone(es)
	slices.SortStableFunc(sorted, func(a, b memEntry) int { return cmp.Compare(a.at, b.at) })
	for _, e := range sorted {
		used -= e.n
		if tokensFit(used, est, limit) {
			return max(e.at+window-now, 1)
		}
	}
	return 1000
}

func (m *memStore) available(_ context.Context, a Account) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.led.availableLocked(a), nil
}
