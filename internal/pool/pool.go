// Package pool decides which upstream account serves each gateway call and keeps bad accounts out
// of rotation without losing good ones: tiers, dedicated accounts, sticky sessions, cooldowns that
// end by time, concurrency limits and usage windows shared across instances, the error→action
// table, health states (banned, needs_reauth, disabled) and the probes that bring accounts back.
//
// Selection (Plan) reads only memory: an immutable Snapshot of the routable accounts and each
// account's state on this instance, which cooldowns set on any instance reach through the bus.
package pool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// TopicCooldown carries cooldowns between instances: "account|model|end in Unix ms", or
// "account|*|0" when an administrator reset the account.
const TopicCooldown = "pool.cooldown"

// Account statuses stored in the database.
const (
	StatusActive      = "active"
	StatusCooling     = "cooling"
	StatusDisabled    = "disabled"
	StatusBanned      = "banned"
	StatusNeedsReauth = "needs_reauth"
)

// ReasonProxy is the status reason of an account whose outbound proxy could not be reached or
// refused the connection.
const ReasonProxy = "proxy_unreachable"

// Config is the pool's behaviour, from the POOL_* settings.
type Config struct {
	// Rules is the error→action table (DefaultRules unless configured).
	Rules []Rule
	// DefaultCooldown is used by a cool rule without a duration when the upstream gives no reset.
	DefaultCooldown time.Duration
	// MaxCooldown caps any cooldown, whatever the upstream says.
	MaxCooldown time.Duration
	// StickyTTL is how long a sticky binding lives after its last use.
	StickyTTL time.Duration
	// LeaseTTL frees a concurrency slot whose holder never released it (a crashed instance).
	LeaseTTL time.Duration
	// FailureThreshold disables an account after this many failures in a row (0: never).
	FailureThreshold int
	// ProbeInterval is how often accounts out of rotation are probed, and the job tick.
	ProbeInterval time.Duration
}

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	rules, _ := ParseRules(DefaultRules)
	return Config{Rules: rules, DefaultCooldown: time.Minute, MaxCooldown: 24 * time.Hour,
		StickyTTL: time.Hour, LeaseTTL: 30 * time.Minute, FailureThreshold: 5, ProbeInterval: 5 * time.Minute}
}

// Deps are the pool's collaborators.
type Deps struct {
	DB      *pgxpool.Pool
	Queries *db.Queries
	Box     *secretbox.Box
	Bus     *bus.Bus
	Store   Store
	Log     *slog.Logger
	// Now is the clock (time.Now when nil): cooldowns and windows end by it.
	Now func() time.Time
	// Client makes probe and sync requests (its transport for accounts without a proxy).
	Client *http.Client
	// Proxies holds the transports of accounts' outbound proxies (nil: the pool makes its own).
	Proxies *egress.Transports
	Config  Config
}

// Pool holds the accounts' state and makes the scheduling decisions.
type Pool struct {
	d   Deps
	cfg Config
	now func() time.Time

	mu     sync.Mutex
	states map[int64]*accState
	// rounds counts the job rounds Run has finished on this instance (see Rounds).
	rounds atomic.Int64
}

// New makes a pool and subscribes it to cooldowns published by other instances; call Load
// before use to read the cooldowns already running.
func New(d Deps) *Pool {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Store == nil {
		d.Store = NewMemoryStore()
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if d.Proxies == nil {
		d.Proxies = egress.New(nil, 0)
	}
	def := DefaultConfig()
	c := d.Config
	if c.Rules == nil {
		c.Rules = def.Rules
	}
	if c.DefaultCooldown <= 0 {
		c.DefaultCooldown = def.DefaultCooldown
	}
	if c.MaxCooldown <= 0 {
		c.MaxCooldown = def.MaxCooldown
	}
	if c.StickyTTL <= 0 {
		c.StickyTTL = def.StickyTTL
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = def.LeaseTTL
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = def.ProbeInterval
	}
	p := &Pool{d: d, cfg: c, now: d.Now, states: map[int64]*accState{}}
	if d.Bus != nil {
		d.Bus.Subscribe(TopicCooldown, p.onCooldown)
	}
	return p
}

// client is the HTTP client for an account's requests through proxy ("" for direct).
func (p *Pool) client(proxy string) *http.Client {
	if proxy == "" {
		return p.d.Client
	}
	return p.d.Proxies.Client(proxy, nil, p.d.Client)
}

// Proxies holds the transports of accounts' outbound proxies.
func (p *Pool) Proxies() *egress.Transports { return p.d.Proxies }

// Now is the pool's clock.
func (p *Pool) Now() time.Time { return p.now() }

// Load reads the cooldowns running in the store (at start, and when the bus may have missed
// messages).
func (p *Pool) Load(ctx context.Context) error {
	cs, err := p.d.Store.Cooldowns(ctx, p.now())
	if err != nil {
		return err
	}
	for _, c := range cs {
		p.state(c.Account).cool(c.Model, c.Until.UnixNano())
	}
	return nil
}

func (p *Pool) state(id int64) *accState {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.states[id]
	if s == nil {
		s = &accState{}
		p.states[id] = s
	}
	return s
}

func (p *Pool) onCooldown(payload string) {
	parts := strings.Split(payload, "|")
	if len(parts) != 3 {
		if payload == "" && p.d.Log != nil { // the bus reconnected: reread everything
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.Load(ctx); err != nil {
				p.d.Log.Warn("reload pool cooldowns", "error", err)
			}
		}
		return
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	ms, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	if parts[1] == "*" {
		p.state(id).clear()
		return
	}
	p.state(id).cool(parts[1], time.UnixMilli(ms).UnixNano())
}

// Cool takes an account (model "" for every model) out of rotation until until, on every
// instance.
func (p *Pool) Cool(ctx context.Context, account int64, model string, until time.Time) {
	until = until.Truncate(time.Millisecond).Add(time.Millisecond) // the bus carries milliseconds
	p.state(account).cool(model, until.UnixNano())
	if err := p.d.Store.SetCooldown(ctx, account, model, until); err != nil {
		p.warn(ctx, "store cooldown", err, "account_id", account)
	}
	if p.d.Bus != nil {
		p.d.Bus.Publish(ctx, TopicCooldown, strconv.FormatInt(account, 10)+"|"+model+"|"+strconv.FormatInt(until.UnixMilli(), 10))
	}
	if model == "" && p.d.DB != nil {
		if err := p.d.Queries.AccountCool(context.WithoutCancel(ctx), p.d.DB, db.AccountCoolParams{ID: account, Until: until}); err != nil {
			p.warn(ctx, "record cooldown", err, "account_id", account)
		}
	}
}

// Reset clears an account's cooldowns and failures on every instance (an administrator's reset).
func (p *Pool) Reset(ctx context.Context, account int64) error {
	p.state(account).clear()
	if err := p.d.Store.ClearCooldowns(ctx, account); err != nil {
		return err
	}
	if p.d.Bus != nil {
		p.d.Bus.Publish(ctx, TopicCooldown, strconv.FormatInt(account, 10)+"|*|0")
	}
	return nil
}

// Outcome is what one attempt got from the upstream.
type Outcome struct {
	// Status is the HTTP status; 0 means a transport failure (no answer, timeout).
	Status int
	Header http.Header
	// Body is the start of an error body (for the table's substring rules).
	Body []byte
	// Err is the transport failure when Status is 0.
	Err error
}

// Report applies the error table to a failed attempt on account a for model and returns the
// matching rule: the caller retries on another account unless its action is ActReturn.
func (p *Pool) Report(ctx context.Context, a *Account, model string, o Outcome) Rule {
	if o.Status == 0 && egress.IsProxyError(o.Err) {
		// The account's proxy is dead: out of rotation, with the reason shown, until a probe
		// through the proxy passes again.
		p.setStatus(ctx, a, StatusDisabled, ReasonProxy)
		return Rule{Action: ActDisable}
	}
	r := Classify(p.cfg.Rules, o.Status, o.Body)
	switch r.Action {
	case ActReturn:
	case ActRetry:
		if n := a.st.fails.Add(1); p.cfg.FailureThreshold > 0 && int(n) >= p.cfg.FailureThreshold {
			p.setStatus(ctx, a, StatusDisabled, "failures")
		}
	case ActCool, ActCoolAccount:
		now := p.now()
		d := ResetAfter(o.Header, o.Body, now)
		if d <= 0 {
			d = r.Cooldown
		}
		if d <= 0 {
			d = p.cfg.DefaultCooldown
		}
		d = min(d, p.cfg.MaxCooldown)
		m := model
		if r.Action == ActCoolAccount {
			m = ""
		}
		p.Cool(ctx, a.ID, m, now.Add(d))
	case ActReauth:
		p.setStatus(ctx, a, StatusNeedsReauth, "unauthorized")
	case ActBan:
		p.setStatus(ctx, a, StatusBanned, "banned")
	case ActDisable:
		p.setStatus(ctx, a, StatusDisabled, "error")
	}
	return r
}

// Succeeded records a successful attempt: the run of failures ends.
func (p *Pool) Succeeded(a *Account) {
	if a.st.fails.Load() != 0 {
		a.st.fails.Store(0)
	}
}

// SetStatus takes account id out of rotation with status and reason (needs_reauth after a
// refused OAuth refresh), here at once and on every instance.
func (p *Pool) SetStatus(ctx context.Context, id int64, status, reason string) {
	p.setStatus(ctx, &Account{ID: id, st: p.state(id)}, status, reason)
}

// setStatus takes an account out of rotation here at once, records the status, and makes every
// instance rebuild its snapshot.
func (p *Pool) setStatus(ctx context.Context, a *Account, status, reason string) {
	a.st.out.Store(true)
	a.st.fails.Store(0)
	if p.d.Log != nil {
		p.d.Log.WarnContext(ctx, "account taken out of rotation", "account_id", a.ID, "status", status, "reason", reason)
	}
	if p.d.DB == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := p.d.Queries.AccountSetStatus(ctx, p.d.DB, db.AccountSetStatusParams{ID: a.ID, Status: status, Reason: reason}); err != nil {
		p.warn(ctx, "record account status", err, "account_id", a.ID)
		return
	}
	if p.d.Bus != nil {
		p.d.Bus.Publish(ctx, bus.TopicRoutes, "")
	}
}

// Lease is a concurrency slot held on an account for one call.
type Lease struct {
	a  *Account
	id string
}

// Acquire takes a concurrency slot on a and counts the call in its usage windows. It reports
// false when a is at its limit on some instance or its window is full (the account then cools
// until the window resets); the caller tries another account. Store failures fail open.
func (p *Pool) Acquire(ctx context.Context, a *Account, model, id string) (Lease, bool) {
	l := Lease{a: a, id: id}
	a.st.inflight.Add(1)
	if a.MaxConcurrency > 0 {
		ok, err := p.d.Store.Acquire(ctx, a.ID, a.MaxConcurrency, id, p.now(), p.cfg.LeaseTTL)
		if err != nil {
			p.warn(ctx, "acquire concurrency slot", err, "account_id", a.ID)
		} else if !ok {
			a.st.inflight.Add(-1)
			return Lease{}, false
		}
	}
	for _, key := range [2]string{model, "*"} {
		lim, ok := a.Limits[key]
		if !ok {
			continue
		}
		now := p.now()
		n, reset, err := p.d.Store.Hit(ctx, a.ID, key, lim.Window, now)
		if err != nil {
			p.warn(ctx, "count usage window", err, "account_id", a.ID)
			continue
		}
		if n > lim.N {
			p.Release(ctx, l)
			m := model
			if key == "*" {
				m = ""
			}
			p.Cool(ctx, a.ID, m, reset)
			return Lease{}, false
		}
	}
	return l, true
}

// Release frees a lease (a zero Lease is ignored).
func (p *Pool) Release(ctx context.Context, l Lease) {
	if l.a == nil {
		return
	}
	l.a.st.inflight.Add(-1)
	if l.a.MaxConcurrency > 0 {
		if err := p.d.Store.Release(context.WithoutCancel(ctx), l.a.ID, l.id); err != nil {
			p.warn(ctx, "release concurrency slot", err, "account_id", l.a.ID)
		}
	}
}

// stickyKey namespaces a session identity by user and hashes it (it may be long or personal).
func stickyKey(user int64, session string) string {
	h := sha256.Sum256([]byte(session))
	return strconv.FormatInt(user, 10) + ":" + hex.EncodeToString(h[:16])
}

// Bound returns the account a user's session is bound to (0: none) and extends the binding.
func (p *Pool) Bound(ctx context.Context, user int64, session string) int64 {
	if session == "" {
		return 0
	}
	id, err := p.d.Store.Bound(ctx, stickyKey(user, session), p.cfg.StickyTTL)
	if err != nil {
		p.warn(ctx, "read sticky binding", err)
	}
	return id
}

// Bind binds a user's session to an account.
func (p *Pool) Bind(ctx context.Context, user int64, session string, account int64) {
	if session == "" {
		return
	}
	if err := p.d.Store.Bind(context.WithoutCancel(ctx), stickyKey(user, session), account, p.cfg.StickyTTL); err != nil {
		p.warn(ctx, "write sticky binding", err)
	}
}

// State is an account's scheduling state as the share-server endpoints show it.
type State struct {
	// CoolingUntil is when its account-wide cooldown ends (zero: not cooling).
	CoolingUntil time.Time
	// Count and WindowReset describe its busiest usage window (zero without limits).
	Count       int64
	WindowReset time.Time
}

// StateOf reads an account's state: cooldowns from this instance's view, windows from the store.
func (p *Pool) StateOf(ctx context.Context, account int64, limits map[string]Limit) State {
	now := p.now()
	var st State
	if u := p.state(account).coolingUntil("", now.UnixNano()); u != 0 {
		st.CoolingUntil = time.Unix(0, u)
	}
	for key := range limits {
		n, reset, err := p.d.Store.Window(ctx, account, key, now)
		if err != nil {
			p.warn(ctx, "read usage window", err, "account_id", account)
			continue
		}
		if n > st.Count || (key == "*" && n > 0) {
			st.Count, st.WindowReset = n, reset
		}
	}
	return st
}

// warn logs a failure of the pool's store with the context's request and operation ids.
func (p *Pool) warn(ctx context.Context, msg string, err error, args ...any) {
	if p.d.Log != nil {
		p.d.Log.WarnContext(ctx, msg, append([]any{"error", err}, args...)...)
	}
}
