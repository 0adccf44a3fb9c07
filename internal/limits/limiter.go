package limits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The kinds of limit a call can hit.
const (
	KindRequests    = "requests"
	KindTokens      = "tokens"
	KindConcurrency = "concurrency"
)

// Ticket is an admitted call: Release it exactly once when the call ends.
type Ticket struct {
	ID       string
	Estimate int64 // tokens the call may use, counted against token limits while it runs
	Start    int64 // when it was admitted, Unix milliseconds (the store's clock)
	counters []Counter
	hold     *Hold    // the quota reserved (nil: none)
	redis    bool     // admitted by Redis (released there too)
	granted  bool     // admitted against this instance's allowances (grants.go), recorded later
	queued   int      // while its record is queued and not sent: its index in the queue + 1
	rec      *pending // while its record is held (releasing.young)
}

// Refusal says why a call may not start: the most specific rule that refused it, which limit, and
// when the call could start (the latest of all refusing rules).
type Refusal struct {
	Rule     *Rule
	Kind     string
	ClearsIn time.Duration
	// grants: allowances were out on what refused it (grants.go); Admit asks for them back and
	// admits again once.
	grants bool
}

// ClearsInSeconds is ClearsIn rounded up to whole seconds (at least 1).
func (r *Refusal) ClearsInSeconds() int64 { return ceilSeconds(r.ClearsIn) }

func ceilSeconds(d time.Duration) int64 {
	return max(int64((d+time.Second-1)/time.Second), 1)
}

func refuse(prev *Refusal, c *Counter, kind string, clearsMs int64) *Refusal {
	d := time.Duration(max(clearsMs, 1)) * time.Millisecond
	if prev == nil {
		return &Refusal{Rule: c.Rule, Kind: kind, ClearsIn: d}
	}
	prev.ClearsIn = max(prev.ClearsIn, d)
	return prev
}

// Usage is what a counter holds now: calls started and tokens used in the window, calls in
// flight, and how long until the oldest counted call leaves the window (0: none counted).
type Usage struct {
	Requests, Tokens, Concurrency int64
	ClearsIn                      time.Duration
}

// Config configures a Limiter.
type Config struct {
	Redis  redis.UniversalClient // nil: in process only
	Prefix string                // Redis key prefix
	// LeaseTTL bounds how long a call counts as in flight in Redis when its instance dies
	// without releasing it (default 15 minutes).
	LeaseTTL time.Duration
	// HoldLease bounds how long a reservation holds in Redis when its instance dies (default 60
	// seconds; Run renews live ones every third of it).
	HoldLease time.Duration
	Log       *slog.Logger
	Now       func() time.Time // the in-process clock (default time.Now); Redis uses its own
	// SlowBudget bounds how long a call waits on a Redis that is reachable but does not answer
	// in time (timeouts, a full connection pool) before it is counted in process (default 60 s).
	// A slow Redis is not a dead one: counting in process while it is only slow would make the
	// limits per instance, so the script is resent (it is idempotent per call) until it answers.
	SlowBudget time.Duration
	// NoAllowances turns the allowances off (grants.go): every call is admitted in Redis, one
	// round trip before its upstream call (for comparison; the default is on).
	NoAllowances bool
}

// Limiter admits and releases calls against counters.
type Limiter struct {
	mem   *memStore
	rds   *redisStore // nil without Redis
	log   *slog.Logger
	down  atomic.Bool  // Redis failed last time: logged once until it answers again
	falls atomic.Int64 // calls admitted in process because Redis could not be reached
	// resends counts scripts sent again after a slow or failed answer (persist).
	resends atomic.Int64
	// readmits counts refused admissions sent again (releasedMeanwhile).
	readmits atomic.Int64
	// slowBudget bounds how long persist keeps resending to a Redis that is reachable but slow.
	slowBudget time.Duration
	// Commands counts Redis commands (script calls) sent, for the per-call figures.
	commands atomic.Int64
	// live are the tickets holding a Redis reservation, renewed by Run.
	liveMu    sync.Mutex
	live      map[string]*Ticket
	holdLease time.Duration
	// rel queues the releases of ReleaseLater (release.go).
	rel releasing
	// adm gathers the admissions waiting for Redis (admit.go).
	adm admitting
	// gr are this instance's allowances (grants.go).
	gr       granting
	noGrants bool
	// unrecorded counts the calls admitted against allowances whose records are not sent yet.
	unrecorded atomic.Int64
	// locals counts the calls admitted against allowances.
	locals atomic.Int64
}

// LocalAdmits counts the calls admitted against this instance's allowances (grants.go), without
// waiting for Redis.
func (l *Limiter) LocalAdmits() int64 { return l.locals.Load() }

// New makes a limiter.
func New(cfg Config) *Limiter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 15 * time.Minute
	}
	if cfg.HoldLease <= 0 {
		cfg.HoldLease = ledgerLease
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SlowBudget <= 0 {
		cfg.SlowBudget = time.Minute
	}
	l := &Limiter{mem: newMemStore(cfg.Now), log: cfg.Log, live: map[string]*Ticket{}, holdLease: cfg.HoldLease,
		slowBudget: cfg.SlowBudget, noGrants: cfg.NoAllowances}
	l.gr.m, l.gr.waits = make(map[string]*grant), make(map[string]time.Time)
	l.rel.cond = sync.NewCond(&l.rel.mu)
	l.rel.keys = make(map[string]int)
	l.rel.kick, l.rel.lingerFor = make(chan struct{}, 1), releaseLinger
	if cfg.Redis != nil {
		l.rds = &redisStore{rdb: cfg.Redis, scripts: redisScripts, prefix: cfg.Prefix + "{lim}:", holdLease: cfg.HoldLease,
			leaseArg: cfg.LeaseTTL.Milliseconds(), holdLeaseArg: cfg.HoldLease.Milliseconds(),
			ledgerTTLArg: ledgerTTL.Milliseconds(), batchTTLArg: max(batchTTL, 2*cfg.SlowBudget).Milliseconds(), instArg: newID()}
	}
	return l
}

// Fallbacks counts calls admitted in process because Redis could not be reached.
func (l *Limiter) Fallbacks() int64 { return l.falls.Load() }

// Resends counts admission and release scripts sent again because Redis answered late or
// failed in a way that is not unreachability (each resend is idempotent).
func (l *Limiter) Resends() int64 { return l.resends.Load() }

// Readmits counts refused admissions admitted again once the releases of calls that may have
// just ended were in (see releasedMeanwhile).
func (l *Limiter) Readmits() int64 { return l.readmits.Load() }

// RedisCommands counts the Redis commands the limiter has sent.
func (l *Limiter) RedisCommands() int64 { return l.commands.Load() }

// idPrefix makes the ids of tickets and batches unique across instances and restarts (random,
// once per process); newID's counter makes them unique within the process, without a random read
// per call.
var (
	idPrefix = func() string {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	idSeq atomic.Uint64
)

func newID() string {
	var buf [48]byte
	out := append(buf[:0], idPrefix...)
	out = strconv.AppendUint(out, idSeq.Add(1), 36)
	return string(out)
}

// readmitWait bounds how long a refused admission waits for this instance's releases before it
// is admitted again (see releasedMeanwhile); they take a round trip or two when Redis is well.
const readmitWait = time.Second

// readmitDelay is how long a refused admission waits for another instance's releases before it
// is admitted again (see releasedMeanwhile): an instance sends a release within a round trip or
// two of Redis after the call's answer, or after releaseLinger more when it lingers.
const readmitDelay = releaseLinger + 5*time.Millisecond

// releasedMeanwhile waits, after a refusal, for the releases of calls that may have ended just
// before: a caller's next call, sent as soon as its previous one answered, must not find that
// one still in flight or reserved. It says whether the call is to be admitted again (once).
//
//   - This instance had releases on the same counters or accounts not yet in Redis when the
//     admission was sent (ended): it waits until the releases queued so far are in (a Redis too
//     slow to take them within readmitWait leaves the refusal as it is). Exact.
//   - Otherwise a refusal that a release frees at once (concurrency, balance, key quota; not a
//     window's requests or tokens) may be the caller's previous call answered by another
//     instance, whose release is on its way: it waits readmitDelay.
func (l *Limiter) releasedMeanwhile(ctx context.Context, ref *Refusal, ended bool) bool {
	if ended {
		wctx, cancel := context.WithTimeout(ctx, readmitWait)
		defer cancel()
		return l.waitReleases(wctx)
	}
	if ref.Kind == KindRequests || ref.Kind == KindTokens {
		return false
	}
	return pause(ctx, readmitDelay)
}

// pause waits d (true) or until ctx ends (false).
func pause(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// again says whether a refused call is to be admitted again (once): allowances were out on what
// refused it (giveBack), or releases of calls that ended just before may not be in
// (releasedMeanwhile).
func (l *Limiter) again(ctx context.Context, t *Ticket, ref *Refusal, ended bool) bool {
	if ref.grants {
		return l.giveBack(ctx, t)
	}
	return l.releasedMeanwhile(ctx, ref, ended)
}

// Admit takes a slot in every counter and reserves the hold's quota on every account (nil: no
// reservation), all or nothing: it returns the ticket to release, or the refusal. Nothing to
// take: an empty ticket and no Redis round trip; a call this instance's allowances cover: none
// either (it is recorded in Redis after, grants.go); otherwise one script call (two when the
// shared ledger first has to start an account from the database). While Redis is unreachable the
// call is counted and reserved in process (logged once per outage, counted in Fallbacks).
func (l *Limiter) Admit(ctx context.Context, cs []Counter, estimate int64, h *Hold) (*Ticket, *Refusal) {
	t := &Ticket{ID: newID(), Estimate: max(estimate, 0), counters: cs, hold: h}
	if len(cs) == 0 && h == nil {
		return t, nil
	}
	if l.rds != nil {
		if l.admitLocal(t) {
			if h != nil {
				l.track(t, true)
			}
			return t, nil
		}
		// Calls of this instance on the same counters or accounts that have ended, their
		// releases not in Redis yet (asked before the admission is sent: a release answered
		// meanwhile may still have come after it).
		ended := l.releasing(t)
		ref, err := l.admitRedis(ctx, t)
		if err == nil && ref != nil && ctx.Err() == nil && l.again(ctx, t, ref, ended) {
			l.readmits.Add(1)
			ref, err = l.admitRedis(ctx, t) // the refusal took nothing: an admission is all or nothing
		}
		if err == nil {
			if l.down.CompareAndSwap(true, false) {
				l.log.Info("limits: Redis answers again; counting there")
			}
			t.redis = true
			if ref == nil && h != nil {
				l.track(t, true)
			}
			return t, ref
		}
		l.falls.Add(1)
		if l.down.CompareAndSwap(false, true) {
			l.log.Error("limits: Redis unreachable; counting in process until it answers", "error", err)
		}
	}
	ref, _ := l.mem.admit(ctx, t, true)
	return t, ref
}

// admitRedis admits a ticket in Redis, with the calls admitted about the same time on this
// instance (admitShared); when the ledger holds nothing for an account yet, it rereads the
// accounts from the database and admits again, letting the ledger start from them.
func (l *Limiter) admitRedis(ctx context.Context, t *Ticket) (*Refusal, error) {
	ctx = context.WithoutCancel(ctx)
	ref, err := l.admitShared(ctx, t, false)
	if !errors.Is(err, errNeedInit) {
		return ref, err
	}
	fresh := *t.hold
	if fresh.Fresh != nil {
		if fresh.Accounts, err = fresh.Fresh(ctx); err != nil {
			return nil, err
		}
	}
	t.hold = &fresh
	return l.admitShared(ctx, t, true)
}

// Release ends an admitted call: its concurrency slot frees; served says whether it reached an
// answer (an unserved call gives its request back), tokens are what it used, and charge is the
// quota it cost: its reservation is dropped and charge counted on its accounts instead.
func (l *Limiter) Release(ctx context.Context, t *Ticket, served bool, tokens, charge int64) {
	if t == nil || (len(t.counters) == 0 && t.hold == nil) {
		return
	}
	if t.granted {
		l.ReleaseLater(t, served, tokens, charge) // after its record, or with it
		l.waitReleases(ctx)
		return
	}
	if t.redis {
		l.track(t, false)
		if err := l.sendReleaseBatch(ctx, []pending{{t: t, served: served, tokens: tokens, charge: charge}}); err != nil {
			l.log.Warn("limits: release in Redis failed; its lease expires by itself", "error", err)
		}
		return
	}
	_ = l.mem.release(ctx, t, served, tokens, charge)
}

// Status reads counters without changing them (Redis when it answers, else in process).
func (l *Limiter) Status(ctx context.Context, cs []Counter) []Usage {
	if len(cs) == 0 {
		return nil
	}
	if l.rds != nil {
		l.waitReleases(ctx)
		if u, err := l.rds.status(ctx, cs); err == nil {
			return u
		}
	}
	u, _ := l.mem.status(ctx, cs)
	return u
}
