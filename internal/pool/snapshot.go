package pool

import (
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Account is an account as the pool schedules it. It is part of an immutable Snapshot; its
// mutable state (cooldowns, leases in flight, failures) lives in the Pool and survives rebuilds.
type Account struct {
	ID        int64
	ChannelID int64
	// Priority is the channel's (higher first); Weight the share of traffic within a priority.
	Priority int
	Weight   float64
	// Tier is the account's effective tier: the higher of its own and its channel's minimum.
	Tier Tier
	// Owner is the user the account is dedicated to (0: shared).
	Owner int64
	// Users are the users the account's channel is bound to (user channels); when set, the
	// account serves only them.
	Users []int64
	// Key is the API key the account is bound to (0: none); a key-bound account serves only
	// calls made with that key, before anything else.
	Key int64
	// Groups are the user groups the account's channel is restricted to (nil: every group).
	Groups []int64
	// MaxConcurrency bounds calls in flight across instances (0: unbounded).
	MaxConcurrency int
	// Limits are per-model windows ("*": all models together).
	Limits map[string]Limit

	models map[string]struct{} // shared by the channel's accounts
	st     *accState
}

// Limit is a usage window: at most N calls per Window, counted from the window's first call.
type Limit struct {
	N      int64
	Window time.Duration
}

// Spec describes an account for Build.
type Spec struct {
	ID, ChannelID int64
	// Models the channel serves (the slice may be shared by the channel's accounts).
	Models []string
	// Priority is the channel's; Weight the account's; ChannelWeight the channel's.
	Priority      int
	Weight        int
	ChannelWeight int
	// Tier is the effective tier (the higher of the account's and the channel's minimum).
	Tier  Tier
	Owner int64
	Users []int64
	// Key binds the account to one API key; Groups restrict its channel to user groups.
	Key            int64
	Groups         []int64
	MaxConcurrency int
	Limits         map[string]Limit
}

// Serves reports whether the account's channel serves model.
func (a *Account) Serves(model string) bool {
	_, ok := a.models[model]
	return ok
}

// Shared reports whether the account is in the shared pool (not dedicated to users or a key):
// calls it serves consume the caller's shared quota.
func (a *Account) Shared() bool { return !a.dedicated() }

// dedicated reports whether the account serves only some users (or one key).
func (a *Account) dedicated() bool { return a.Key != 0 || a.Owner != 0 || len(a.Users) > 0 }

// allows reports whether a call may use the account: a key-bound account only calls with its
// key, a dedicated one only its users (tier does not apply to them), a shared one any user of a
// high enough tier whose group its channel serves.
func (a *Account) allows(req *Request, tier Tier) bool {
	if a.Key != 0 {
		return a.Key == req.Key
	}
	if a.Owner != 0 || len(a.Users) > 0 {
		return a.Owner == req.User || slices.Contains(a.Users, req.User)
	}
	return a.Tier <= tier && a.servesGroup(req.Group)
}

// servesGroup reports whether the account's channel serves users of group (0: no group).
func (a *Account) servesGroup(group int64) bool {
	return len(a.Groups) == 0 || (group != 0 && slices.Contains(a.Groups, group))
}

// band is the shared accounts of one priority serving one model at one tier.
type band struct {
	accs   []*Account
	cum    []float64 // cumulative weights; nil when every weight is equal (round robin)
	cursor atomic.Uint64
}

// route is what serves one model: bands for each user tier, highest priority first.
type route struct {
	byTier  [3][]*band
	minTier Tier // the lowest tier that has shared accounts; 0 when only dedicated ones
	// restricted: some shared account serving the model belongs to a channel restricted to groups.
	restricted bool
}

// Snapshot is an immutable view of every routable account, indexed for selection.
type Snapshot struct {
	byID      map[int64]*Account
	routes    map[string]*route
	dedicated map[int64][]*Account // by user: owned accounts, then user-channel accounts
	byKey     map[int64][]*Account // key-bound accounts by API key
	served    map[string]struct{}
}

// Account returns a routable account by id (nil if it is not routable).
func (s *Snapshot) Account(id int64) *Account { return s.byID[id] }

// Serves reports whether a routable account or an active channel serves model.
func (s *Snapshot) Serves(model string) bool {
	_, ok := s.served[model]
	return ok
}

// Build indexes specs into a snapshot. Accounts keep their state across builds. Known models
// are served too (Serves) although no account of theirs is routable right now, so a caller
// learns that no account is available rather than that the model does not exist.
func (p *Pool) Build(specs []Spec, known ...string) *Snapshot {
	s := &Snapshot{byID: make(map[int64]*Account, len(specs)), routes: map[string]*route{},
		dedicated: map[int64][]*Account{}, byKey: map[int64][]*Account{}, served: map[string]struct{}{}}
	for _, m := range known {
		s.served[m] = struct{}{}
	}
	modelSets := map[int64]map[string]struct{}{}
	chanWeight := map[int64]int{} // sum of account weights per channel
	for i := range specs {
		chanWeight[specs[i].ChannelID] += max(specs[i].Weight, 0)
	}
	type key struct {
		model string
		tier  Tier
		prio  int
	}
	bands := map[key]*band{}
	for i := range specs {
		sp := &specs[i]
		ms := modelSets[sp.ChannelID]
		if ms == nil {
			ms = make(map[string]struct{}, len(sp.Models))
			for _, m := range sp.Models {
				ms[m] = struct{}{}
			}
			modelSets[sp.ChannelID] = ms
		}
		tier := min(max(sp.Tier, TierFree), TierUltra)
		w := 0.0
		if cw := chanWeight[sp.ChannelID]; cw > 0 {
			w = float64(max(sp.ChannelWeight, 0)) * float64(max(sp.Weight, 0)) / float64(cw)
		}
		a := &Account{ID: sp.ID, ChannelID: sp.ChannelID, Priority: sp.Priority, Weight: w, Tier: tier,
			Owner: sp.Owner, Users: sp.Users, Key: sp.Key, Groups: sp.Groups, MaxConcurrency: sp.MaxConcurrency, Limits: sp.Limits,
			models: ms, st: p.state(sp.ID)}
		a.st.out.Store(false)
		s.byID[a.ID] = a
		for m := range ms {
			s.served[m] = struct{}{}
		}
		if a.Key != 0 {
			s.byKey[a.Key] = append(s.byKey[a.Key], a)
			continue
		}
		if a.dedicated() {
			if a.Owner != 0 {
				s.dedicated[a.Owner] = append(s.dedicated[a.Owner], a)
			}
			for _, u := range a.Users {
				if u != a.Owner {
					s.dedicated[u] = append(s.dedicated[u], a)
				}
			}
			continue
		}
		for m := range ms {
			for t := tier; t <= TierUltra; t++ {
				k := key{m, t, a.Priority}
				b := bands[k]
				if b == nil {
					b = &band{}
					bands[k] = b
				}
				b.accs = append(b.accs, a)
			}
			r := s.routes[m]
			if r == nil {
				r = &route{}
				s.routes[m] = r
			}
			if r.minTier == 0 || tier < r.minTier {
				r.minTier = tier
			}
			if len(a.Groups) > 0 {
				r.restricted = true
			}
		}
	}
	for k, b := range bands {
		r := s.routes[k.model]
		r.byTier[k.tier-1] = append(r.byTier[k.tier-1], b)
		uniform := true
		for _, a := range b.accs {
			if a.Weight != b.accs[0].Weight {
				uniform = false
				break
			}
		}
		if !uniform {
			b.cum = make([]float64, len(b.accs))
			total := 0.0
			for i, a := range b.accs {
				total += a.Weight
				b.cum[i] = total
			}
		}
	}
	for _, r := range s.routes {
		for t := range r.byTier {
			sort.Slice(r.byTier[t], func(i, j int) bool { return r.byTier[t][i].accs[0].Priority > r.byTier[t][j].accs[0].Priority })
		}
	}
	for _, list := range s.byKey {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Priority > list[j].Priority })
	}
	for u, list := range s.dedicated {
		// Owned accounts first, then channel priority, then weight.
		sort.SliceStable(list, func(i, j int) bool {
			oi, oj := list[i].Owner == u, list[j].Owner == u
			if oi != oj {
				return oi
			}
			if list[i].Priority != list[j].Priority {
				return list[i].Priority > list[j].Priority
			}
			return list[i].Weight > list[j].Weight
		})
	}
	return s
}

// Request describes a call to place.
type Request struct {
	Model string
	User  int64
	// Key is the API key the call was made with (0: none, a share link).
	Key int64
	// Group is the caller's user group (0: none): restricted channels serve only their groups.
	Group int64
	// Tier is the caller's effective tier (an expired plan is free).
	Tier Tier
	// Prefer is an account the caller asked for; Bound the account its sticky session is on.
	// Either is tried first when it is eligible.
	Prefer, Bound int64
	// SharedFirst: the caller prefers the shared pool before their dedicated accounts
	// (account_priority shared_first); dedicated ones still serve when the pool cannot.
	SharedFirst bool
}

// Plan is the accounts to try, in order, and why there are none when there are none.
type Plan struct {
	Accounts []*Account
	// Cooling: eligible accounts exist but all are cooling down; RetryAt is the earliest end.
	Cooling bool
	RetryAt time.Time
	// Busy: eligible accounts exist but all are at their concurrency limit.
	Busy bool
	// TierDenied: the model is served, but only by accounts above the caller's tier.
	TierDenied bool
}

// Plan orders up to n accounts to try for a call: the preferred account, the sticky one, the
// accounts bound to the caller's key, the caller's dedicated accounts, then the shared pool of
// the caller's group at the caller's tier by priority, weight and
// least recent use (the shared pool before the dedicated accounts when SharedFirst). Accounts cooling down for the model, out of rotation, or at their
// concurrency limit (as this instance sees it) are skipped. Plan does no I/O.
func (p *Pool) Plan(s *Snapshot, req Request, n int) Plan {
	now := p.now().UnixNano()
	tier := min(max(req.Tier, TierFree), TierUltra)
	var pl Plan
	out := make([]*Account, 0, n)
	var cooling, busy int
	var retryAt int64
	consider := func(a *Account) bool {
		if a.st.out.Load() || slices.Contains(out, a) {
			return false
		}
		if u := a.st.coolingUntil(req.Model, now); u != 0 {
			cooling++
			if retryAt == 0 || u < retryAt {
				retryAt = u
			}
			return false
		}
		if a.MaxConcurrency > 0 && int(a.st.inflight.Load()) >= a.MaxConcurrency {
			busy++
			return false
		}
		out = append(out, a)
		return len(out) >= n
	}
	done := func() Plan {
		pl.Accounts = out
		if len(out) == 0 {
			pl.Busy = busy > 0
			pl.Cooling = cooling > 0 && !pl.Busy
			if pl.Cooling {
				pl.RetryAt = time.Unix(0, retryAt)
			}
		}
		return pl
	}
	for _, id := range [2]int64{req.Prefer, req.Bound} {
		if a := s.byID[id]; id != 0 && a != nil && a.Serves(req.Model) && a.allows(&req, tier) && consider(a) {
			return done()
		}
	}
	if req.Key != 0 {
		for _, a := range s.byKey[req.Key] {
			if a.Serves(req.Model) && consider(a) {
				return done()
			}
		}
	}
	dedicated := func() bool {
		for _, a := range s.dedicated[req.User] {
			if a.Serves(req.Model) && consider(a) {
				return true
			}
		}
		return false
	}
	if !req.SharedFirst && dedicated() {
		return done()
	}
	tierDenied := false
	if r := s.routes[req.Model]; r != nil {
		if r.minTier > tier && len(out) == 0 {
			tierDenied = true
		} else {
			visit := consider
			if r.restricted { // some channel serving the model is restricted to groups
				visit = func(a *Account) bool { return a.servesGroup(req.Group) && consider(a) }
			}
			for _, b := range r.byTier[tier-1] {
				if b.walk(visit) {
					return done()
				}
			}
		}
	}
	if req.SharedFirst && dedicated() {
		return done()
	}
	pl.TierDenied = tierDenied && len(out) == 0
	return done()
}

// walk visits the band's accounts from a start drawn by weight (or the next in turn when the
// weights are equal, which is least-recently-used order) and around; it stops when visit says so.
func (b *band) walk(visit func(*Account) bool) bool {
	n := len(b.accs)
	var start int
	if b.cum == nil {
		start = int((b.cursor.Add(1) - 1) % uint64(n)) //nolint:gosec // n > 0 and small
	} else {
		total := b.cum[n-1]
		if total > 0 {
			start = sort.SearchFloat64s(b.cum, rand.Float64()*total) //nolint:gosec // load spreading needs no cryptographic randomness
			start = min(start, n-1)
		}
	}
	for i := range n {
		if visit(b.accs[(start+i)%n]) {
			return true
		}
	}
	return false
}

// accState is an account's mutable state on this instance.
type accState struct {
	until    atomic.Int64                     // account-wide cooldown end (Unix ns)
	models   atomic.Pointer[map[string]int64] // per-model cooldown ends (copy on write)
	mu       sync.Mutex                       // serialises writers of models
	inflight atomic.Int32
	fails    atomic.Int32
	out      atomic.Bool // taken out of rotation; cleared by the next snapshot
}

// coolingUntil returns when the account's cooldown for model ends, or 0 if it is not cooling.
func (s *accState) coolingUntil(model string, now int64) int64 {
	u := s.until.Load()
	if m := s.models.Load(); m != nil {
		if v := (*m)[model]; v > u {
			u = v
		}
	}
	if u > now {
		return u
	}
	return 0
}

// cool records a cooldown end (a later end wins).
func (s *accState) cool(model string, until int64) {
	if model == "" {
		for {
			cur := s.until.Load()
			if until <= cur || s.until.CompareAndSwap(cur, until) {
				return
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.models.Load()
	m := make(map[string]int64, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	if until > m[model] {
		m[model] = until
	}
	s.models.Store(&m)
}

// clear drops every cooldown.
func (s *accState) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.until.Store(0)
	s.models.Store(nil)
	s.fails.Store(0)
}
