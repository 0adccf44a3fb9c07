package relay

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/provider"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// account is an upstream credential ready to use.
type account struct {
	id         int64
	channel    *channel
	credential string
	weight     int
	// rt is the transport through the account's outbound proxy (nil: the relay's own).
	rt http.RoundTripper
	// oauth is the credential of an OAuth account (credential is then its access token as read).
	oauth *oauth.Credential
	// credHeader is the credential header last made for the account (credentialHeader).
	credHeader atomic.Pointer[credHeader]
}

// credHeader is an upstream credential header made once: value is shared by the requests that
// send it, read only (its capacity ends at its one element, so an append copies).
type credHeader struct {
	credential, name string
	value            []string
}

// credentialHeader is the header ch sets for the account's credential cred, made again only when
// the credential changes (an OAuth token refreshed).
func (a *account) credentialHeader(ch provider.CredentialHeaderer, cred string) (string, []string) {
	if c := a.credHeader.Load(); c != nil && c.credential == cred {
		return c.name, c.value
	}
	name, value := ch.CredentialHeader(cred)
	c := &credHeader{credential: cred, name: name, value: []string{value}}
	a.credHeader.Store(c)
	return c.name, c.value
}

// channel is an upstream endpoint in the routing snapshot.
type channel struct {
	id       int64
	typ      string
	baseURL  string // without trailing slash
	priority int
	weight   int
	accounts []*account
	// upstream maps a model name callers use to the name sent upstream (channel models whose
	// upstream_name differs; nil when the channel maps none).
	upstream map[string]string
	// models are the names the channel serves; groups the groups it is restricted to and users
	// the users it is dedicated to (none: everyone) — the catalog reads them (catalog.go).
	models []string
	groups []int64
	users  []int64
	// urls caches the parsed upstream URLs the channel is called at (upstreamURL).
	urls urlCache
}

// upstreamModel is the name the channel sends upstream for a model callers ask for.
func (c *channel) upstreamModel(model string) string {
	if up, ok := c.upstream[model]; ok {
		return up
	}
	return model
}

// snapshot is an immutable view of channels, accounts and prices, rebuilt when any of them
// changes on any instance. The pool's snapshot indexes the same accounts for selection.
type snapshot struct {
	pool     *pool.Snapshot
	accounts map[int64]*account
	prices   map[string]billing.Price
	mult     *multipliers
	channels []*channel // active channels with at least one usable account
	models   []string   // served models, sorted
	built    time.Time
	gen      uint64 // the table's generation the snapshot was read at
}

type routeTable struct {
	pool *pgxpool.Pool
	q    *db.Queries
	box  *secretbox.Box
	log  *slog.Logger
	ttl  time.Duration
	sel  *pool.Pool
	// proxies gives accounts with an outbound proxy their transport; direct is the relay's own.
	proxies *egress.Transports
	direct  http.RoundTripper

	cur atomic.Pointer[snapshot]
	mu  sync.Mutex    // one rebuild at a time
	gen atomic.Uint64 // bumped by every invalidation
	// load reads a snapshot from the database (build; tests replace it).
	load func(context.Context) (*snapshot, error)
}

// buildTimeout bounds one snapshot rebuild (it runs detached from the caller that triggered it,
// since other callers may be waiting for it).
const buildTimeout = 15 * time.Second

func newRouteTable(dbp *pgxpool.Pool, q *db.Queries, box *secretbox.Box, b *bus.Bus, log *slog.Logger, ttl time.Duration, sel *pool.Pool) *routeTable {
	t := &routeTable{pool: dbp, q: q, box: box, log: log, ttl: ttl, sel: sel}
	t.load = t.build
	b.Subscribe(bus.TopicRoutes, func(string) { t.invalidate() })
	return t
}

// invalidate marks the snapshot stale: every later call waits for a snapshot read after the
// invalidation, so a change made through the admin API is visible to the very next gateway call
// on this instance (and to the next one after the message arrives on the others).
func (t *routeTable) invalidate() { t.gen.Add(1) }

// get returns a snapshot no older than the last invalidation. A snapshot that is only older than
// ttl (nothing changed that this instance heard of) is refreshed by one caller while the others
// keep using it; a snapshot made stale by an invalidation is never returned once the
// invalidation is known: callers wait for the rebuild (one rebuild serves them all).
func (t *routeTable) get(ctx context.Context) (*snapshot, error) {
	s := t.cur.Load()
	if s != nil && s.gen == t.gen.Load() {
		if time.Since(s.built) < t.ttl {
			return s, nil
		}
		if !t.mu.TryLock() {
			return s, nil // another caller is refreshing it
		}
	} else {
		t.mu.Lock()
	}
	defer t.mu.Unlock()
	s = t.cur.Load()
	g := t.gen.Load()
	if s != nil && s.gen == g && time.Since(s.built) < t.ttl {
		return s, nil // rebuilt while this caller waited
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
	defer cancel()
	ns, err := t.load(bctx)
	if err != nil {
		if s != nil {
			t.log.WarnContext(ctx, "routing snapshot rebuild failed; serving the previous one", "error", err)
			return s, nil
		}
		return nil, err
	}
	ns.gen = g // an invalidation during the read leaves it stale: the next call reads again
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
	bindings, err := t.q.UserChannelList(ctx, t.pool, db.UserChannelListParams{})
	if err != nil {
		return nil, fmt.Errorf("load user channels: %w", err)
	}
	restrictions, err := t.q.ChannelGroupList(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("load channel groups: %w", err)
	}
	mappings, err := t.q.ChannelModelMappings(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("load channel model mappings: %w", err)
	}
	mult, err := t.loadMultipliers(ctx)
	if err != nil {
		return nil, err
	}
	groups := map[int64][]int64{}
	for _, r := range restrictions {
		groups[r.ChannelID] = append(groups[r.ChannelID], r.GroupID)
	}
	s := &snapshot{accounts: make(map[int64]*account, len(accs)), prices: map[string]billing.Price{}, mult: mult, built: time.Now()}
	byID := map[int64]*channel{}
	rows := map[int64]*db.ChannelListRow{}
	for _, c := range chans {
		if c.Status != "active" {
			continue
		}
		rows[c.ID] = c
		byID[c.ID] = &channel{id: c.ID, typ: c.Type, baseURL: strings.TrimRight(c.BaseURL, "/"),
			priority: int(c.Priority), weight: int(c.Weight), models: c.Models}
	}
	for _, m := range mappings {
		if ch := byID[m.ChannelID]; ch != nil {
			if ch.upstream == nil {
				ch.upstream = map[string]string{}
			}
			ch.upstream[m.Name] = m.UpstreamName
		}
	}
	users := map[int64][]int64{}
	for _, b := range bindings {
		users[b.ChannelID] = append(users[b.ChannelID], b.UserID)
	}
	specs := make([]pool.Spec, 0, len(accs))
	served := map[string]struct{}{}
	for _, a := range accs {
		ch := byID[a.ChannelID]
		if ch == nil {
			continue
		}
		cred, err := t.box.Open(a.CredentialEnc)
		if err != nil {
			t.log.ErrorContext(ctx, "account credential cannot be decrypted; account skipped", "account_id", a.ID, "error", err)
			continue
		}
		limits, err := pool.ParseLimits(a.Limits)
		if err != nil {
			t.log.ErrorContext(ctx, "account limits cannot be read; limits ignored", "account_id", a.ID, "error", err)
		}
		acc := &account{id: a.ID, channel: ch, credential: cred, weight: int(a.Weight)}
		if len(ch.accounts) == 0 {
			ch.groups, ch.users = groups[a.ChannelID], users[a.ChannelID]
			s.channels = append(s.channels, ch)
		}
		if a.ProxyURL != "" {
			acc.rt = t.proxies.For(a.ProxyURL, t.direct)
		}
		if oc, ok := oauth.Parse(cred); ok {
			acc.oauth, acc.credential = oc, oc.AccessToken
		}
		ch.accounts = append(ch.accounts, acc)
		s.accounts[a.ID] = acc
		row := rows[a.ChannelID]
		sp := pool.Spec{ID: a.ID, ChannelID: a.ChannelID, Models: row.Models, Priority: ch.priority,
			Weight: int(a.Weight), ChannelWeight: ch.weight,
			Tier:  max(pool.ParseTier(a.Tier), pool.ParseTier(row.MinTier)),
			Users: users[a.ChannelID], Groups: groups[a.ChannelID], MaxConcurrency: int(a.MaxConcurrency), Limits: limits}
		if a.OwnerUserID != nil {
			sp.Owner = *a.OwnerUserID
		}
		if a.APIKeyID != nil {
			sp.Key = *a.APIKeyID
		}
		specs = append(specs, sp)
		for _, m := range row.Models {
			served[m] = struct{}{}
		}
	}
	var known []string
	for _, c := range rows {
		known = append(known, c.Models...)
	}
	s.pool = t.sel.Build(specs, known...)
	for m := range served {
		s.models = append(s.models, m)
	}
	sort.Strings(s.models)
	for _, m := range models {
		s.prices[m.Name] = billing.FromModel(m)
	}
	return s, nil
}
