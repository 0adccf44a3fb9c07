package limits

import (
	"context"
	"sync"
	"time"
)

// releasing holds the Redis releases queued by ReleaseLater: one flusher goroutine at a time sends
// everything queued so far in one pipelined round trip, while the next releases gather for the
// round trip after it. Calls finishing together therefore share one round trip, and none waits
// for Redis after its answer. A flusher that starts on an empty queue first lingers (see
// releaseLinger).
type releasing struct {
	mu    sync.Mutex
	cond  *sync.Cond
	queue []pending
	spare []pending
	busy  bool // a flusher runs
	// waiting counts the callers of waitReleases waiting now: a flusher does not linger for
	// them.
	waiting int
	// kick cuts a lingering flusher's wait short (at most one kick is pending).
	kick chan struct{}
	// lingerFor is releaseLinger (tests change it).
	lingerFor time.Duration
	added     int64 // releases queued, ever
	sent      int64 // releases sent (or given up on), ever: the first sent of added
	// keys counts the releases queued or in flight per counter and account key (see
	// Limiter.releasing).
	keys map[string]int
}

// pending is one queued release.
type pending struct {
	t              *Ticket
	served         bool
	tokens, charge int64
}

// ReleaseLater is Release without waiting for Redis: a ticket admitted there is queued and sent
// with the releases of the calls that finish about the same time (one pipelined round trip);
// one admitted in process is released at once. Until it is sent, the call still counts as in
// flight and its reservation is held: a late release only ever holds more, never less. On this
// instance, Status, Available and Flush first wait for the releases queued before them.
func (l *Limiter) ReleaseLater(t *Ticket, served bool, tokens, charge int64) {
	if t == nil || (len(t.counters) == 0 && t.hold == nil) {
		return
	}
	if !t.redis {
		_ = l.mem.release(context.Background(), t, served, tokens, charge)
		return
	}
	r := &l.rel
	r.mu.Lock()
	r.queue = append(r.queue, pending{t: t, served: served, tokens: tokens, charge: charge})
	r.added++
	r.count(t, 1)
	start := !r.busy
	r.busy = true
	now := r.waiting > 0 || len(r.queue) >= releaseFill || tight(t)
	r.mu.Unlock()
	switch {
	case start:
		go l.flushReleases(!now)
	case now:
		r.wake()
	}
}

// A flusher that starts on an empty queue waits up to releaseLinger for more releases before
// its first round trip, unless releaseFill are queued, somebody waits for them (a Status, an
// Available, a Flush, a refused admission: waitReleases), or a release is tight. A busy flusher
// goes on at once (under load the releases already come in batches).
//
// Measured with poolbench (Redis on; docs/benchmarks.md): without it, at low load every release
// was a script call of its own, which Redis ran just as the caller's next admission arrived; at
// concurrency 1 Redis's CPU per call went 265 → 215–221 µs (normal) and 266–310 → 198–234 µs
// (streamed) with it, Poolgate's CPU ÷ nginx's 7.2–7.8 → 6.1–7.2× and 5.2–6.3 → 4.4–4.9×; under
// load (64, 256 callers) the flusher is rarely idle and little changes.
const (
	releaseLinger = 2 * time.Millisecond
	releaseFill   = 64
	// releaseTight: a release on a counter allowing at most this many calls in flight goes out
	// at once. Such a user's next call would otherwise find its previous one still in flight
	// and be admitted only after the release (a second and third round trip: see
	// releasedMeanwhile); with many more slots, a late release frees one of many.
	releaseTight = 16
)

// tight says whether t counts on a counter allowing at most releaseTight calls in flight.
func tight(t *Ticket) bool {
	for i := range t.counters {
		if c := t.counters[i].Rule.Concurrency; c > 0 && c <= releaseTight {
			return true
		}
	}
	return false
}

// wake cuts a lingering flusher's wait short.
func (r *releasing) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// linger waits up to releaseLinger, or until woken (see ReleaseLater).
func (r *releasing) linger() {
	tm := time.NewTimer(r.lingerFor)
	defer tm.Stop()
	select {
	case <-r.kick:
	case <-tm.C:
	}
}

// flushReleases sends the queued releases, a batch per round trip, until the queue is empty;
// linger: it first waits (see releaseLinger).
func (l *Limiter) flushReleases(linger bool) {
	r := &l.rel
	if linger {
		r.linger()
	}
	for {
		r.mu.Lock()
		q := r.queue
		if len(q) == 0 {
			r.busy = false
			r.cond.Broadcast()
			r.mu.Unlock()
			return
		}
		upto := r.added
		r.queue, r.spare = r.spare[:0], nil
		r.mu.Unlock()

		l.sendReleases(q)

		r.mu.Lock()
		for i := range q {
			r.count(q[i].t, -1)
		}
		clear(q)
		r.spare = q[:0]
		r.sent = upto
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// count adds n to the releases counted for each of t's counters and accounts; the caller holds
// mu.
func (r *releasing) count(t *Ticket, n int) {
	for i := range t.counters {
		r.add(t.counters[i].Key, n)
	}
	for _, a := range t.accounts() {
		r.add(a.Key, n)
	}
}

func (r *releasing) add(key string, n int) {
	if c := r.keys[key] + n; c > 0 {
		r.keys[key] = c
	} else {
		delete(r.keys, key)
	}
}

// releasing says whether calls of this instance that share a counter or an account with t have
// ended and their releases are not in Redis yet (queued or in flight).
func (l *Limiter) releasing(t *Ticket) bool {
	r := &l.rel
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range t.counters {
		if r.keys[t.counters[i].Key] > 0 {
			return true
		}
	}
	for _, a := range t.accounts() {
		if r.keys[a.Key] > 0 {
			return true
		}
	}
	return false
}

// sendReleases sends the queued releases, at most maxBatch per script call.
func (l *Limiter) sendReleases(q []pending) {
	ctx := context.Background()
	for i := range q {
		l.track(q[i].t, false)
	}
	for len(q) > 0 {
		n := min(len(q), maxBatch)
		if err := l.sendReleaseBatch(ctx, q[:n]); err != nil {
			l.log.Warn("limits: release in Redis failed; its lease expires by itself", "error", err, "calls", n)
		}
		q = q[n:]
	}
}

// sendReleaseBatch runs one batch's release script until Redis answers (persist); each release
// is idempotent per ticket, so a batch sent again changes nothing it already changed.
func (l *Limiter) sendReleaseBatch(ctx context.Context, q []pending) error {
	return l.persist(ctx, "release", func(ctx context.Context) error {
		l.commands.Add(1)
		return l.rds.releaseBatch(ctx, q)
	})
}

// waitReleases waits until the releases queued so far on this instance are sent (true), or ctx
// ends (false).
func (l *Limiter) waitReleases(ctx context.Context) bool {
	r := &l.rel
	r.mu.Lock()
	target := r.added
	idle := r.sent >= target
	r.mu.Unlock()
	if idle {
		return true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.waiting++
		defer func() { r.waiting-- }()
		r.wake()
		for r.sent < target {
			r.cond.Wait()
		}
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// Flush waits until every release queued by ReleaseLater is sent to Redis (shutdown calls it
// before closing the connections), or ctx ends.
func (l *Limiter) Flush(ctx context.Context) {
	l.waitReleases(ctx)
}
