package relay

import (
	"sync/atomic"
	"time"
)

// Forwarding delay: for every streamed event, the time from the moment Poolgate has read it from
// the upstream to the moment the write that carries it to the caller has been flushed. It is the
// gateway's own share of an event's latency (what a caller waits for beyond the network and the
// upstream), kept for relayed and translated streams apart, and served with the runtime profiles
// on DEBUG_ADDR (/debug/forwarding) for benchmarks and diagnosis.

// Bucket bounds of the forwarding histogram: 10 µs steps up to 1 ms, 100 µs steps up to 10 ms,
// 1 ms steps up to 100 ms, then one bucket for anything longer.
const (
	fineBuckets   = 100
	mediumBuckets = 90
	coarseBuckets = 90
	histBuckets   = fineBuckets + mediumBuckets + coarseBuckets + 1
)

// latencyHist counts durations in fixed buckets, lock-free.
type latencyHist struct {
	counts [histBuckets]atomic.Uint64
}

func bucketOf(d time.Duration) int {
	us := d.Microseconds()
	switch {
	case us < 1000:
		return int(us / 10)
	case us < 10_000:
		return fineBuckets + int((us-1000)/100)
	case us < 100_000:
		return fineBuckets + mediumBuckets + int((us-10_000)/1000)
	}
	return histBuckets - 1
}

// bucketLimit is the upper bound of bucket i (the last bucket has none: -1).
func bucketLimit(i int) time.Duration {
	switch {
	case i < fineBuckets:
		return time.Duration(i+1) * 10 * time.Microsecond
	case i < fineBuckets+mediumBuckets:
		return time.Millisecond + time.Duration(i-fineBuckets+1)*100*time.Microsecond
	case i < histBuckets-1:
		return 10*time.Millisecond + time.Duration(i-fineBuckets-mediumBuckets+1)*time.Millisecond
	}
	return -1
}

func (h *latencyHist) add(d time.Duration) { h.counts[bucketOf(d)].Add(1) }

// ForwardingBucket is one bucket of a forwarding-delay histogram: Count events took at most
// LeMicros microseconds (and more than the previous bucket's bound); LeMicros -1 is unbounded.
type ForwardingBucket struct {
	LeMicros int64  `json:"le_us"`
	Count    uint64 `json:"count"`
}

// ForwardingStats are the forwarding-delay histograms since the process started, non-empty
// buckets only.
type ForwardingStats struct {
	Relayed    []ForwardingBucket `json:"relayed"`
	Translated []ForwardingBucket `json:"translated"`
}

func (h *latencyHist) buckets() []ForwardingBucket {
	out := []ForwardingBucket{}
	for i := range h.counts {
		if n := h.counts[i].Load(); n > 0 {
			le := int64(-1)
			if l := bucketLimit(i); l >= 0 {
				le = l.Microseconds()
			}
			out = append(out, ForwardingBucket{LeMicros: le, Count: n})
		}
	}
	return out
}

// Forwarding returns the forwarding-delay histograms of streamed events.
func (rl *Relay) Forwarding() ForwardingStats {
	return ForwardingStats{Relayed: rl.fwdRelayed.buckets(), Translated: rl.fwdTranslated.buckets()}
}

// forwardClock notes when each streamed event that is passed on to the caller was read and, at
// each flush, records how long each event written since the previous flush waited. Events that
// are consumed rather than passed on (a usage chunk the caller did not ask for, an upstream event
// with no counterpart in the caller's protocol) are not forwarding and are not counted.
type forwardClock struct {
	h *latencyHist
	// n events were written since the last flush: the first ones' read times in first (on the
	// caller's stack), the rest in more.
	n     int
	first [32]time.Time
	more  []time.Time
}

// forwardClockOf is a stream's clock counting into h, or one that counts nothing when the
// relay does not measure forwarding (Deps.Forwarding).
func (rl *Relay) forwardClockOf(h *latencyHist) forwardClock {
	if !rl.d.Forwarding {
		return forwardClock{}
	}
	return forwardClock{h: h}
}

// now is the time an event is read at (the zero time when the clock counts nothing).
func (c *forwardClock) now() time.Time {
	if c.h == nil {
		return time.Time{}
	}
	return time.Now()
}

// written notes an event read at t whose bytes were written to the caller.
func (c *forwardClock) written(t time.Time) {
	if c.h == nil {
		return
	}
	if c.n < len(c.first) {
		c.first[c.n] = t
	} else {
		c.more = append(c.more, t)
	}
	c.n++
}

// pending reports whether events were written since the last flush.
func (c *forwardClock) pending() bool { return c.n > 0 }

func (c *forwardClock) flushed() {
	if c.n == 0 {
		return
	}
	now := time.Now()
	for _, t := range c.first[:min(c.n, len(c.first))] {
		c.h.add(now.Sub(t))
	}
	for _, t := range c.more {
		c.h.add(now.Sub(t))
	}
	c.n, c.more = 0, c.more[:0]
}
