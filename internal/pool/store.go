package pool

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Store keeps the pool's state that must hold across instances: cooldowns, concurrency leases,
// sticky bindings and limit-window counts. RedisStore shares it between instances; MemoryStore
// keeps it in process (one instance).
type Store interface {
	// SetCooldown records that account (model "" for every model) cools until until.
	SetCooldown(ctx context.Context, account int64, model string, until time.Time) error
	// ClearCooldowns drops every cooldown of account.
	ClearCooldowns(ctx context.Context, account int64) error
	// Cooldowns lists the cooldowns still running at now.
	Cooldowns(ctx context.Context, now time.Time) ([]Cooldown, error)
	// Acquire takes one of limit concurrency slots of account under lease id; leases older than
	// ttl are considered leaked (a crashed instance) and freed.
	Acquire(ctx context.Context, account int64, limit int, id string, now time.Time, ttl time.Duration) (bool, error)
	// Release frees a lease.
	Release(ctx context.Context, account int64, id string) error
	// Bound returns the account bound to a sticky key (0 if none) and extends the binding's ttl.
	Bound(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Bind binds a sticky key to an account for ttl.
	Bind(ctx context.Context, key string, account int64, ttl time.Duration) error
	// Hit counts one use of account for model in a fixed window that starts at the first use;
	// it returns the count including this use and when the window resets.
	Hit(ctx context.Context, account int64, model string, window time.Duration, now time.Time) (int64, time.Time, error)
	// Window reads the current count and reset of a window without counting (0 when none runs).
	Window(ctx context.Context, account int64, model string, now time.Time) (int64, time.Time, error)
}

// Cooldown is one running cooldown.
type Cooldown struct {
	Account int64
	Model   string // "" for the whole account
	Until   time.Time
}

// MemoryStore is the in-process Store of a single instance.
type MemoryStore struct {
	mu      sync.Mutex
	cool    map[string]Cooldown
	leases  map[int64]map[string]time.Time
	sticky  map[string]stickyEntry
	windows map[string]windowEntry
}

type stickyEntry struct {
	account int64
	expires time.Time
}

type windowEntry struct {
	count int64
	reset time.Time
}

// NewMemoryStore makes an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{cool: map[string]Cooldown{}, leases: map[int64]map[string]time.Time{},
		sticky: map[string]stickyEntry{}, windows: map[string]windowEntry{}}
}

var _ Store = (*MemoryStore)(nil)

func coolField(account int64, model string) string {
	return strconv.FormatInt(account, 10) + "|" + model
}

// SetCooldown implements Store.
func (m *MemoryStore) SetCooldown(_ context.Context, account int64, model string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := coolField(account, model)
	if c, ok := m.cool[k]; !ok || until.After(c.Until) {
		m.cool[k] = Cooldown{Account: account, Model: model, Until: until}
	}
	return nil
}

// ClearCooldowns implements Store.
func (m *MemoryStore) ClearCooldowns(_ context.Context, account int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, c := range m.cool {
		if c.Account == account {
			delete(m.cool, k)
		}
	}
	return nil
}

// Cooldowns implements Store.
func (m *MemoryStore) Cooldowns(_ context.Context, now time.Time) ([]Cooldown, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Cooldown, 0, len(m.cool))
	for k, c := range m.cool {
		if !c.Until.After(now) {
			delete(m.cool, k)
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// Acquire implements Store.
func (m *MemoryStore) Acquire(_ context.Context, account int64, limit int, id string, now time.Time, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ls := m.leases[account]
	if ls == nil {
		ls = map[string]time.Time{}
		m.leases[account] = ls
	}
	for k, at := range ls {
		if now.Sub(at) > ttl {
			delete(ls, k)
		}
	}
	if len(ls) >= limit {
		return false, nil
	}
	ls[id] = now
	return true, nil
}

// Release implements Store.
func (m *MemoryStore) Release(_ context.Context, account int64, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases[account], id)
	return nil
}

// Bound implements Store. Bindings expire by the wall clock.
func (m *MemoryStore) Bound(_ context.Context, key string, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.sticky[key]
	if !ok || time.Now().After(e.expires) {
		delete(m.sticky, key)
		return 0, nil
	}
	e.expires = time.Now().Add(ttl)
	m.sticky[key] = e
	return e.account, nil
}

// Bind implements Store.
func (m *MemoryStore) Bind(_ context.Context, key string, account int64, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sticky) > 100_000 { // bound memory: drop expired bindings
		now := time.Now()
		for k, e := range m.sticky {
			if now.After(e.expires) {
				delete(m.sticky, k)
			}
		}
	}
	m.sticky[key] = stickyEntry{account: account, expires: time.Now().Add(ttl)}
	return nil
}

// Hit implements Store.
func (m *MemoryStore) Hit(_ context.Context, account int64, model string, window time.Duration, now time.Time) (int64, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := coolField(account, model)
	w := m.windows[k]
	if !now.Before(w.reset) {
		w = windowEntry{reset: now.Add(window)}
	}
	w.count++
	m.windows[k] = w
	return w.count, w.reset, nil
}

// Window implements Store.
func (m *MemoryStore) Window(_ context.Context, account int64, model string, now time.Time) (int64, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.windows[coolField(account, model)]
	if !now.Before(w.reset) {
		return 0, time.Time{}, nil
	}
	return w.count, w.reset, nil
}
