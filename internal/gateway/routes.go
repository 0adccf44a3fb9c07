package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// account is an upstream credential ready to use.
type account struct {
	id         int64
	channel    *channel
	credential string
	weight     int
}

// channel is an upstream endpoint in the routing snapshot.
type channel struct {
	id       int64
	typ      string
	baseURL  string // without trailing slash
	priority int
	weight   int
	accounts []*account
}

// route lists the channels serving a model, grouped by priority (highest first).
type route struct {
	tiers [][]*channel
}

// snapshot is an immutable view of channels, accounts and prices, rebuilt when any of them
// changes on any instance.
type snapshot struct {
	routes map[string]*route
	prices map[string]billing.Price
	models []string // served models, sorted
	built  time.Time
}

type routeTable struct {
	pool *pgxpool.Pool
	q    *db.Queries
	box  *secretbox.Box
	log  *slog.Logger
	ttl  time.Duration

	cur   atomic.Pointer[snapshot]
	mu    sync.Mutex // one rebuild at a time
	dirty atomic.Bool
}

func newRouteTable(pool *pgxpool.Pool, q *db.Queries, box *secretbox.Box, b *bus.Bus, log *slog.Logger, ttl time.Duration) *routeTable {
	t := &routeTable{pool: pool, q: q, box: box, log: log, ttl: ttl}
	b.Subscribe(bus.TopicRoutes, func(string) { t.invalidate() })
	return t
}

// invalidate marks the snapshot stale; the next call rebuilds it synchronously, so a change made
// through the admin API is visible to the very next gateway call.
func (t *routeTable) invalidate() { t.dirty.Store(true) }

// get returns a fresh snapshot, rebuilding it when stale or older than ttl.
func (t *routeTable) get(ctx context.Context) (*snapshot, error) {
	s := t.cur.Load()
	if s != nil && !t.dirty.Load() && time.Since(s.built) < t.ttl {
		return s, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s = t.cur.Load()
	if s != nil && !t.dirty.Load() && time.Since(s.built) < t.ttl {
		return s, nil
	}
	t.dirty.Store(false)
	ns, err := t.build(ctx)
	if err != nil {
		t.dirty.Store(true)
		if s != nil {
			t.log.Warn("routing snapshot rebuild failed; serving the previous one", "error", err)
			return s, nil
		}
		return nil, err
	}
	t.cur.Store(ns)
	return ns, nil
}

func (t *routeTable) build(ctx context.Context) (*snapshot, error) {
	chans, err := t.q.ChannelList(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("load channels: %w", err)
	}
	accs, err := t.q.AccountListRoutable(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	models, err := t.q.ModelList(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("load models: %w", err)
	}
	s := &snapshot{routes: map[string]*route{}, prices: map[string]billing.Price{}, built: time.Now()}
	byID := map[int64]*channel{}
	for _, c := range chans {
		if c.Status != "active" {
			continue
		}
		byID[c.ID] = &channel{id: c.ID, typ: c.Type, baseURL: strings.TrimRight(c.BaseUrl, "/"),
			priority: int(c.Priority), weight: int(c.Weight)}
	}
	for _, a := range accs {
		ch := byID[a.ChannelID]
		if ch == nil {
			continue
		}
		cred, err := t.box.Open(a.CredentialEnc)
		if err != nil {
			t.log.Error("account credential cannot be decrypted; account skipped", "account_id", a.ID, "error", err)
			continue
		}
		ch.accounts = append(ch.accounts, &account{id: a.ID, channel: ch, credential: cred, weight: int(a.Weight)})
	}
	for _, c := range chans {
		ch := byID[c.ID]
		if ch == nil || len(ch.accounts) == 0 {
			continue
		}
		for _, m := range c.Models {
			r := s.routes[m]
			if r == nil {
				r = &route{}
				s.routes[m] = r
			}
			placed := false
			for i, tier := range r.tiers {
				if tier[0].priority == ch.priority {
					r.tiers[i] = append(tier, ch)
					placed = true
					break
				}
			}
			if !placed {
				r.tiers = append(r.tiers, []*channel{ch})
			}
		}
	}
	for name, r := range s.routes {
		sort.Slice(r.tiers, func(i, j int) bool { return r.tiers[i][0].priority > r.tiers[j][0].priority })
		s.models = append(s.models, name)
	}
	sort.Strings(s.models)
	for _, m := range models {
		p := billing.Price{Input: m.InputPrice, Output: m.OutputPrice, CachedInput: m.InputPrice}
		if m.CachedInputPrice != nil {
			p.CachedInput = *m.CachedInputPrice
		}
		s.prices[m.Name] = p
	}
	return s, nil
}

// plan orders up to n accounts to try for a route: tiers by priority, channels within a tier and
// accounts within a channel in weighted random order (weight 0 only when nothing else is left).
func (r *route) plan(n int) []*account {
	out := make([]*account, 0, n)
	for _, tier := range r.tiers {
		for _, ch := range weightedOrder(tier, func(c *channel) int { return c.weight }) {
			for _, a := range weightedOrder(ch.accounts, func(a *account) int { return a.weight }) {
				out = append(out, a)
				if len(out) == n {
					return out
				}
			}
		}
	}
	return out
}

// weightedOrder returns items in a random order where each next item is drawn with probability
// proportional to its weight; zero-weight items come last.
func weightedOrder[T any](items []T, weight func(T) int) []T {
	if len(items) == 1 {
		return items
	}
	rest := append([]T(nil), items...)
	out := make([]T, 0, len(items))
	for len(rest) > 0 {
		total := 0
		for _, it := range rest {
			total += max(weight(it), 0)
		}
		i := 0
		if total > 0 {
			x := rand.IntN(total) //nolint:gosec // load spreading needs no cryptographic randomness
			for j, it := range rest {
				x -= max(weight(it), 0)
				if x < 0 {
					i = j
					break
				}
			}
		}
		out = append(out, rest[i])
		rest = append(rest[:i], rest[i+1:]...)
	}
	return out
}
