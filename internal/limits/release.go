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
	// young are the records held back until recordHold old (oldest first): a call that ends
	// meanwhile is recorded and released in one step. They join the queue when due, when their
	// call has ended, when somebody waits (waitReleases) or when maxUnrecorded/2 are held.
	young []*pending
}

// recordHold is how long a record is held back before it is sent: under load a call answers
// within it (poolbench: p50 ~5 ms at 64 callers, ~20 ms at 256), and its record and release then
// cost Redis one step instead of two (a call still in flight when its record goes costs Redis an
// entry among the calls in flight and, later, a release of its own). Another instance's status
// shows such a call up to this much later (this instance's own status and balance wait for its
// records).
const recordHold = 30 * time.Millisecond

// pending is one queued release, record of a call admitted against an allowance (grants.go),
// both at once, or an allowance given back.
type pending struct {
	t              *Ticket
	at             time.Time // a record's admission
	kind           uint8
	served         bool
	tokens, charge int64
	back           *grantAsk
}

// The kinds of pending.
const (
	kindRelease uint8 = iota
	kindRecord
	kindMerged // a record whose call ended before it was sent: recorded and released at once
	kindBack
)

// queueRecord holds the record of a call admitted against an allowance (young) and makes sure a
// flusher runs to send it when due (it lingers, then waits for the oldest to be due).
func (l *Limiter) queueRecord(t *Ticket) {
	r := &l.rel
	p := &pending{t: t, kind: kindRecord, at: time.Now()}
	r.mu.Lock()
	r.young = append(r.young, p)
	t.rec = p
	l.unrecorded.Add(1)
	l.flushLocked(r.waiting > 0 || len(r.young) >= maxUnrecorded/2)
}

// promote moves the due records from young into the queue (all of them when all); the caller
// holds mu. Records are due at recordHold; the ended calls' (merged) go with the first that is
// due, so that a flush carries every call that ended since the last one (Redis's work is per
// script more than per call: see mergeInto) rather than a flush going every releaseLinger.
func (r *releasing) promote(now time.Time, all bool) {
	ended := all || now.Sub(r.young[0].at) >= recordHold
	keep := r.young[:0]
	for _, p := range r.young {
		if all || ended && p.kind == kindMerged || now.Sub(p.at) >= recordHold {
			r.queue = append(r.queue, *p)
			r.added++
			p.t.rec, p.t.queued = nil, len(r.queue)
		} else {
			keep = append(keep, p)
		}
	}
	clear(r.young[len(keep):])
	r.young = keep
}

// queueBack queues an allowance given back. It may reach Redis before records of calls admitted
// against the allowance (held or queued): each takes only its own part off the allowance there,
// in whichever order.
func (l *Limiter) queueBack(q *grantAsk) {
	r := &l.rel
	r.mu.Lock()
	r.queue = append(r.queue, pending{kind: kindBack, back: q})
	r.added++
	l.flushLocked(r.waiting > 0 || len(r.queue) >= releaseFill)
}

// flushLocked makes sure a flusher runs — it starts one, lingering unless now, when none does,
// or cuts a running one's wait short when now — and unlocks mu.
func (l *Limiter) flushLocked(now bool) {
	r := &l.rel
	start := !r.busy
	r.busy = true
	r.mu.Unlock()
	switch {
	case start:
		go l.flushReleases(!now)
	case now:
		r.wake()
	}
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
	switch {
	case t.rec != nil: // its record is held: both go as one, in the next round
		p := t.rec
		p.kind, p.served, p.tokens, p.charge = kindMerged, served, tokens, charge
	case t.queued > 0: // its record is queued, not sent: both go as one
		p := &r.queue[t.queued-1]
		p.kind, p.served, p.tokens, p.charge = kindMerged, served, tokens, charge
	default:
		r.queue = append(r.queue, pending{t: t, served: served, tokens: tokens, charge: charge})
		r.added++
	}
	r.count(t, 1)
	l.flushLocked(r.waiting > 0 || len(r.queue) >= releaseFill || tight(t))
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

// linger waits up to d, or until woken (see ReleaseLater).
func (r *releasing) linger(d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-r.kick:
	case <-tm.C:
	}
}

// flushReleases sends the queued releases and due records, a batch per round trip, until the
// queue is empty and no record is held; linger: it first waits (see releaseLinger). While only
// held records remain it waits for the oldest to be due (or to be woken).
func (l *Limiter) flushReleases(linger bool) {
	r := &l.rel
	if linger {
		r.linger(r.lingerFor)
	}
	for {
		r.mu.Lock()
		if len(r.young) > 0 {
			r.promote(time.Now(), r.waiting > 0 || len(r.young) >= maxUnrecorded/2)
		}
		q := r.queue
		if len(q) == 0 {
			if len(r.young) > 0 {
				// Until the oldest is due, looking again every releaseLinger for releases
				// queued meanwhile (they linger no longer than when the flusher starts idle).
				wait := min(recordHold-time.Since(r.young[0].at), r.lingerFor)
				r.mu.Unlock()
				r.linger(max(wait, 0))
				continue
			}
			r.busy = false
			r.cond.Broadcast()
			r.mu.Unlock()
			return
		}
		upto := r.added
		r.queue, r.spare = r.spare[:0], nil
		for i := range q {
			if q[i].t != nil {
				q[i].t.queued = 0
			}
		}
		r.mu.Unlock()

		l.sendReleases(q)

		r.mu.Lock()
		for i := range q {
			if k := q[i].kind; k == kindRelease || k == kindMerged {
				r.count(q[i].t, -1)
			}
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

// sendReleases sends what is queued: the releases first, at most maxBatch per release script call
// (each is of a call admitted or recorded before: a call whose record is queued with its release
// goes as one record), then the records, at most maxBatch per admission script call, then the
// allowances given back, in one allowance script call.
func (l *Limiter) sendReleases(q []pending) {
	ctx := context.Background()
	var recs, merged []*admission
	rels := q[:0:0]
	back := &grantAsk{}
	for i := range q {
		p := &q[i]
		switch p.kind {
		case kindMerged:
			if m := mergeInto(merged, p); m != nil {
				m.add(p)
				break
			}
			a := newRecord(p)
			a.many.n = 1
			a.add(p)
			merged = append(merged, a)
			recs = append(recs, a)
		case kindRecord:
			recs = append(recs, newRecord(p))
		case kindBack:
			back.cs, back.as = append(back.cs, p.back.cs...), append(back.as, p.back.as...)
		default:
			rels = append(rels, *p)
		}
		if p.kind == kindRelease || p.kind == kindMerged {
			l.track(p.t, false)
		}
	}
	for len(rels) > 0 {
		n := min(len(rels), maxBatch)
		if err := l.sendReleaseBatch(ctx, rels[:n]); err != nil {
			l.log.Warn("limits: release in Redis failed; its lease expires by itself", "error", err, "calls", n)
		}
		rels = rels[n:]
	}
	for len(recs) > 0 {
		n := min(len(recs), maxBatch)
		calls := int64(0)
		for _, a := range recs[:n] {
			calls += max(a.many.n, 1)
		}
		l.sendRecords(ctx, recs[:n])
		l.unrecorded.Add(-calls)
		recs = recs[n:]
	}
	if len(back.cs)+len(back.as) > 0 {
		l.commands.Add(1)
		if _, err := l.rds.grant(ctx, back); err != nil {
			l.log.Warn("limits: giving allowances back to Redis failed; they lapse at their lease", "error", err)
		}
	}
}

// newRecord is the admission that sends p's record.
func newRecord(p *pending) *admission {
	a := admissions.Get().(*admission) //nolint:forcetypeassert // the pool holds nothing else
	a.t, a.rec = p.t, p
	return a
}

// mergeInto finds, among the first few ended records of a flush, one of p's shape, which p's
// record joins (nil: none). Redis then handles a user's ended calls of a flush as one entry:
// recording and releasing them is linear in them (sums of requests, tokens, allowances taken and
// charges), so the sums change nothing but the work.
func mergeInto(merged []*admission, p *pending) *admission {
	for _, m := range merged[:min(len(merged), 8)] {
		s := &m.many
		// The sums stay where the script's numbers are exact (grantMax per figure).
		if sameAdmission(m.t, p.t) && s.est+p.t.Estimate < grantMax && s.amount+p.t.holdAmount() < grantMax &&
			s.tokens+max(p.tokens, 0) < grantMax && s.charge+max(p.charge, 0) < grantMax {
			return m
		}
	}
	return nil
}

// add sums an ended call's record into a (mode y).
func (a *admission) add(p *pending) {
	m := &a.many
	if a.rec != p {
		m.n++
	}
	m.est += p.t.Estimate
	m.amount += p.t.holdAmount()
	m.charge += max(p.charge, 0)
	if p.served {
		m.served++
		m.tokens += max(p.tokens, 0)
	}
}

// sendRecords sends a batch of records in one admission script call (persist: resent, it
// changes nothing it already changed) and recycles the batch's admissions.
func (l *Limiter) sendRecords(ctx context.Context, recs []*admission) {
	l.sendAdmits(ctx, recs)
	for _, a := range recs {
		if a.err != nil || a.ref != nil {
			l.log.Warn("limits: recording a call admitted against an allowance failed", "error", a.err)
			break
		}
	}
	for _, a := range recs {
		a.recycle()
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
	if len(r.young) > 0 {
		r.promote(time.Now(), true) // the held records go with the rest
	}
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
	l.giveAllBack()
	l.waitReleases(ctx)
}
