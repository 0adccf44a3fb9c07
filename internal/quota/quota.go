// Package quota is the shared quota pool (docs/accounts.md): per user and model family, calls
// served by shared accounts consume a quota whose cap is a base plus a bonus per shared account the
// user contributes, and which recovers continuously back to the cap over the recovery period.
// Calls on a user's own dedicated accounts do not consume it. Buckets live in Redis (one script
// call per operation: exact across instances) or in process without Redis.
package quota

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/settings"
)

// contributionsTTL bounds how long a user's contributed-account count is cached (changes to
// accounts drop the cache on every instance at once).
const contributionsTTL = time.Minute

// Config configures a Pool.
type Config struct {
	DB       *pgxpool.Pool
	Queries  *db.Queries
	Settings *settings.Store
	Bus      *bus.Bus
	Redis    redis.UniversalClient // nil: in process only
	Prefix   string                // Redis key prefix
	Log      *slog.Logger
	// Now is an injected clock (tests); nil uses time.Now in process and Redis's clock in Redis.
	Now func() time.Time
}

// Pool keeps the users' shared quota buckets.
type Pool struct {
	cfg  Config
	mem  store
	rds  store // nil without Redis
	down atomic.Bool

	mu      sync.Mutex
	contrib map[int64]contribution // by user
	gen     uint64                 // bumped when accounts change
}

type contribution struct {
	byChannel map[int64]int64 // shared contributed accounts per channel
	types     map[int64]string
	loaded    time.Time
	gen       uint64
}

// New makes a pool and subscribes it to account changes.
func New(cfg Config) *Pool {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	p := &Pool{cfg: cfg, mem: newMemStore(now), contrib: map[int64]contribution{}}
	if cfg.Redis != nil {
		rs := &redisStore{rdb: cfg.Redis, prefix: cfg.Prefix + "{quota}:"}
		if cfg.Now != nil {
			rs.now = func() int64 { return cfg.Now().UnixMilli() }
		}
		p.rds = rs
	}
	if cfg.Bus != nil {
		cfg.Bus.Subscribe(bus.TopicRoutes, func(string) {
			p.mu.Lock()
			p.gen++
			clear(p.contrib)
			p.mu.Unlock()
		})
	}
	return p
}

// Rules are the shared quota settings in effect.
type Rules struct {
	Base     int64
	Bonus    map[string]int64
	Recovery time.Duration
	Unit     string
	// providers maps a channel to the provider whose contributed accounts it takes.
	providers map[int64]string
}

// RulesOf reads the rules from the settings.
func RulesOf(v *settings.Values) Rules {
	r := Rules{Base: v.SharedQuotaBase, Bonus: v.SharedQuotaBonusPerAccount, Unit: v.SharedQuotaUnit,
		Recovery: time.Duration(v.SharedQuotaRecoveryHours * float64(time.Hour))}
	if r.Unit != settings.SharedQuotaTokens {
		r.Unit = settings.SharedQuotaCalls
	}
	for prov, ch := range v.ContributedAccountChannels {
		if r.providers == nil { // none on most sites: RulesOf runs on every call
			r.providers = make(map[int64]string, len(v.ContributedAccountChannels))
		}
		if cur, ok := r.providers[ch]; !ok || prov < cur {
			r.providers[ch] = prov
		}
	}
	return r
}

// Active reports whether the site takes contributed accounts (contributed_account_channels names
// a channel): the shared quota pool counts calls only then, so a site whose pool is its
// administrator's accounts alone caps nobody.
func (r *Rules) Active() bool { return len(r.providers) > 0 }

// Family is the model family a channel's calls count against: the provider whose contributed
// accounts the channel takes (contributed_account_channels), else the channel's type.
func (r *Rules) Family(channelID int64, channelType string) string {
	if p, ok := r.providers[channelID]; ok {
		return p
	}
	return channelType
}

// BonusOf is the cap one shared contributed account of family adds.
func (r *Rules) BonusOf(family string) int64 {
	if b, ok := r.Bonus[family]; ok {
		return b
	}
	return r.Bonus["*"]
}

func (r *Rules) params(capacity int64) params {
	return params{Cap: capacity, Recovery: r.Recovery.Milliseconds()}
}

// Rules returns the rules in effect now.
func (p *Pool) Rules() Rules { return RulesOf(p.cfg.Settings.Get()) }

// Cap is a user's cap for family: the base plus the family's bonus per shared account the user
// contributed to it.
func (p *Pool) Cap(ctx context.Context, r *Rules, user int64, family string) (int64, error) {
	c, err := p.contributions(ctx, user)
	if err != nil {
		return 0, err
	}
	return r.Base + r.BonusOf(family)*c.count(r, family), nil
}

func (c *contribution) count(r *Rules, family string) int64 {
	var n int64
	for ch, k := range c.byChannel {
		if r.Family(ch, c.types[ch]) == family {
			n += k
		}
	}
	return n
}

func (p *Pool) contributions(ctx context.Context, user int64) (contribution, error) {
	p.mu.Lock()
	c, ok := p.contrib[user]
	gen := p.gen
	p.mu.Unlock()
	if ok && c.gen == gen && time.Since(c.loaded) < contributionsTTL {
		return c, nil
	}
	rows, err := p.cfg.Queries.SharedQuotaContributions(ctx, p.cfg.DB, &user)
	if err != nil {
		return contribution{}, err
	}
	c = contribution{byChannel: map[int64]int64{}, types: map[int64]string{}, loaded: time.Now(), gen: gen}
	for _, r := range rows {
		c.byChannel[r.ChannelID] = r.Accounts
		c.types[r.ChannelID] = r.ChannelType
	}
	p.mu.Lock()
	if p.gen == gen {
		p.contrib[user] = c
	}
	p.mu.Unlock()
	return c, nil
}

func key(user int64, family string) string {
	return strconv.FormatInt(user, 10) + ":" + family
}

// Hold is a reservation on a user's bucket, settled or given back exactly once.
type Hold struct {
	user     int64
	family   string
	reserved int64
	p        params
	redis    bool
}

// Family is the family the hold is in.
func (h *Hold) Family() string { return h.family }

// Refusal says a user's quota of a family is used up, and when one unit will have recovered
// (ClearsIn 0: never — the cap is 0).
type Refusal struct {
	Family   string
	Cap      int64
	ClearsIn time.Duration
}

// Take reserves a call's cost (1 call, or its estimated tokens) in the user's bucket of family,
// or refuses when not one unit remains.
func (p *Pool) Take(ctx context.Context, r *Rules, user int64, family string, estimate int64) (*Hold, *Refusal, error) {
	capacity, err := p.Cap(ctx, r, user, family)
	if err != nil {
		return nil, nil, err
	}
	cost := int64(1)
	if r.Unit == settings.SharedQuotaTokens {
		cost = max(estimate, 1)
	}
	h := &Hold{user: user, family: family, reserved: cost, p: r.params(capacity)}
	k := key(user, family)
	var ok bool
	var wait int64
	if p.rds != nil {
		ok, wait, err = p.rds.take(context.WithoutCancel(ctx), k, cost, h.p)
		if p.redisAnswered(err) {
			h.redis = true
			return p.outcome(h, ok, wait)
		}
	}
	ok, wait, _ = p.mem.take(ctx, k, cost, h.p)
	return p.outcome(h, ok, wait)
}

func (p *Pool) outcome(h *Hold, ok bool, wait int64) (*Hold, *Refusal, error) {
	if ok {
		return h, nil, nil
	}
	ref := &Refusal{Family: h.family, Cap: h.p.Cap}
	if wait > 0 {
		ref.ClearsIn = time.Duration(wait) * time.Millisecond
	}
	return nil, ref, nil
}

func (p *Pool) redisAnswered(err error) bool {
	if err == nil {
		if p.down.CompareAndSwap(true, false) {
			p.cfg.Log.Info("shared quota: Redis answers again; counting there")
		}
		return true
	}
	if p.down.CompareAndSwap(false, true) {
		p.cfg.Log.Error("shared quota: Redis unreachable; counting in process until it answers", "error", err)
	}
	return false
}

// Settle ends a hold: served calls keep their real cost (tokens when the unit is tokens; one
// call otherwise), unserved ones give the reservation back. Calls need no round trip when served.
func (p *Pool) Settle(ctx context.Context, h *Hold, served bool, tokens int64, unit string) {
	if h == nil {
		return
	}
	delta := -h.reserved
	if served {
		if unit != settings.SharedQuotaTokens {
			return
		}
		delta = tokens - h.reserved
	}
	if delta == 0 {
		return
	}
	k := key(h.user, h.family)
	if h.redis {
		if err := p.rds.adjust(context.WithoutCancel(ctx), k, delta, h.p); err != nil {
			p.cfg.Log.Warn("shared quota: settling in Redis failed", "error", err)
		}
		return
	}
	_ = p.mem.adjust(ctx, k, delta, h.p)
}

// Status is a user's quota of one family now.
type Status struct {
	Family          string
	Unit            string
	Cap, Used       int64
	Remaining       int64
	SharedAccounts  int64
	BonusPerAccount int64
	// FullIn is how long until the bucket has recovered to its cap (0: it is full).
	FullIn time.Duration
	// ClearsIn is how long until a unit is free again while none is (0: one is).
	ClearsIn time.Duration
}

// Families lists the families a user has a quota in: those of the active channels with shared
// accounts, the providers accounts can be contributed for, and those the user contributed to;
// sorted.
func (p *Pool) Families(ctx context.Context, r *Rules, user int64) ([]string, error) {
	chans, err := p.cfg.Queries.SharedQuotaChannels(ctx, p.cfg.DB)
	if err != nil {
		return nil, err
	}
	c, err := p.contributions(ctx, user)
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(f string) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, ch := range chans {
		add(r.Family(ch.ID, ch.Type))
	}
	for ch := range c.byChannel {
		add(r.Family(ch, c.types[ch]))
	}
	for _, prov := range r.providers {
		add(prov)
	}
	slices.Sort(out)
	return out, nil
}

// StatusOf reads a user's quota of each family without changing it.
func (p *Pool) StatusOf(ctx context.Context, user int64) ([]Status, error) {
	r := p.Rules()
	fams, err := p.Families(ctx, &r, user)
	if err != nil {
		return nil, err
	}
	c, err := p.contributions(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(fams))
	for _, f := range fams {
		n := c.count(&r, f)
		st := Status{Family: f, Unit: r.Unit, Cap: r.Base + r.BonusOf(f)*n, SharedAccounts: n, BonusPerAccount: r.BonusOf(f)}
		pr := r.params(st.Cap)
		b, now := p.read(ctx, key(user, f), pr)
		st.Used = b.Used
		st.Remaining = max(st.Cap-b.Used, 0)
		if w := b.untilBelow(0, now, pr); w > 0 {
			st.FullIn = time.Duration(w) * time.Millisecond
		}
		if w := b.untilBelow(st.Cap-1, now, pr); w > 0 {
			st.ClearsIn = time.Duration(w) * time.Millisecond
		}
		out = append(out, st)
	}
	return out, nil
}

func (p *Pool) read(ctx context.Context, k string, pr params) (bucket, int64) {
	if p.rds != nil {
		if b, now, err := p.rds.read(ctx, k, pr); err == nil {
			return b, now
		}
	}
	b, now, _ := p.mem.read(ctx, k, pr)
	return b, now
}
