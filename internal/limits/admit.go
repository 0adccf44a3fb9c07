package limits

import (
	"context"
	"strconv"
	"sync"
)

// admitting gathers the admissions waiting for Redis. One caller at a time, the leader, sends
// everything queued so far in one script call; the calls that arrive during its round trip queue
// behind it, and when it has its answer it hands the lead to the first of them, which sends them
// all in the next script call. A caller alone sends at once (nothing waits for a batch to fill),
// and under load one round trip and one script run serve many calls: per call, Redis reads,
// writes and starts a script once per batch, not once per call.
type admitting struct {
	mu    sync.Mutex
	queue []*admission
	busy  bool // a leader's script call is in flight
}

// One batch is in flight at a time. Measured with poolbench at 64 callers (Redis and Poolgate CPU
// per call with 1, 4 and 16 in flight): every batch more in flight only split the same calls into
// smaller batches, at more CPU per call in both (Poolgate 103 / 118 / 132 µs, Redis 55 / 58 / 62
// µs), and did not shorten the wait. A call alone still goes at once.

// admission is one call waiting for its admission in Redis.
type admission struct {
	t    *Ticket
	init bool
	// rec is the record of a call admitted against this instance's allowances (grants.go), sent
	// by the release flusher: nil for an admission.
	rec *pending
	// many, when n > 1, sums the ended records of one shape sent as this one (mode y):
	// their calls, served calls, estimates, amounts, served tokens and charges.
	many struct{ n, served, est, amount, tokens, charge int64 }
	ref  *Refusal
	err  error
	// wake gets one value: false when the admission is answered (ref, err), true when its caller
	// leads the next batch (batch, this admission first).
	wake  chan bool
	batch []*admission
}

// admitShared admits t in Redis in a batch with the other calls of this instance waiting at the
// same time (see admitting). The answer is the one t would have had alone: the script handles a
// batch's calls one after the other, and a batch sent again answers what it answered first.
func (l *Limiter) admitShared(ctx context.Context, t *Ticket, init bool) (*Refusal, error) {
	me := admissions.Get().(*admission) //nolint:forcetypeassert // the pool holds nothing else
	me.t, me.init = t, init
	defer me.recycle()
	a := &l.adm
	a.mu.Lock()
	a.queue = append(a.queue, me)
	var batch []*admission
	if !a.busy {
		a.busy = true
		batch = a.take()
		a.mu.Unlock()
	} else {
		a.mu.Unlock()
		if !<-me.wake {
			return me.ref, me.err
		}
		batch = me.batch // handed over by the leader before, with this caller first
	}

	l.sendAdmits(ctx, batch)

	a.mu.Lock()
	var next []*admission
	if len(a.queue) == 0 {
		a.busy = false
	} else {
		next = a.take()
		next[0].batch = next
	}
	a.mu.Unlock()
	if next != nil {
		next[0].wake <- true
	}
	for _, x := range batch {
		if x != me {
			x.wake <- false
		}
	}
	return me.ref, me.err
}

// admissions recycles admissions and their channels. An admission's wake gets at most one value,
// and its caller has taken it before admitShared returns: a recycled channel is empty. Once its
// caller has been woken, nothing reads an admission any more (a leader only compares the
// pointers of the batch it is waking).
var admissions = sync.Pool{New: func() any { return &admission{wake: make(chan bool, 1)} }}

// recycle empties a and returns it to admissions.
func (a *admission) recycle() {
	*a = admission{wake: a.wake}
	admissions.Put(a)
}

// take removes the next batch from the queue; the caller holds mu.
func (a *admitting) take() []*admission {
	n := min(len(a.queue), maxBatch)
	batch := a.queue[:n:n]
	if n == len(a.queue) {
		a.queue = nil
	} else {
		a.queue = append([]*admission(nil), a.queue[n:]...)
	}
	return batch
}

// sendAdmits runs one batch's admission script until Redis answers (persist): an error that
// leaves Redis unanswered is every admission's error (its caller then counts in process).
func (l *Limiter) sendAdmits(ctx context.Context, batch []*admission) {
	id := newID()
	err := l.persist(ctx, "admit", func(ctx context.Context) error {
		l.commands.Add(1)
		return l.rds.admitBatch(ctx, id, batch)
	})
	if err != nil {
		for _, x := range batch {
			x.ref, x.err = nil, err
		}
	}
}

// mode is the admission's mode for the admission script (see admitLua).
func (a *admission) mode() string {
	switch {
	case a.many.n > 1:
		m := &a.many
		return "y" + strconv.FormatInt(m.n, 10) + "," + strconv.FormatInt(m.served, 10) + "," +
			strconv.FormatInt(m.tokens, 10) + "," + strconv.FormatInt(m.charge, 10)
	case a.rec != nil && a.rec.kind == kindMerged:
		sv := "0"
		if a.rec.served {
			sv = "1"
		}
		return "x" + sv + "," + strconv.FormatInt(max(a.rec.tokens, 0), 10) + "," + strconv.FormatInt(max(a.rec.charge, 0), 10)
	case a.rec != nil:
		return "g"
	case a.init:
		return "1"
	}
	return "0"
}
