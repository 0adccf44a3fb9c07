// Package gcfloor keeps Go's garbage collector from collecting before the heap reaches a floor.
//
// With GOGC=100 the collector runs each time the heap doubles its live part. A gateway's live
// heap is small (~16 MiB under load: caches, pools, the calls in flight) and every call allocates,
// so it collects several times a second, each time marking the whole live heap again. Under
// poolbench's load GOGC=200 took 9–12 % off Poolgate's CPU per call. A floor gets that where it
// is cheap: after each collection the percentage is set so that the next one comes at twice the
// live heap or at the floor, whichever is larger. A heap that holds more than half the floor (10,000
// open streams) collects exactly as with GOGC=100; a small one grows to the floor first, which
// costs at most the floor in memory.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// percent is the GOGC that lets a heap whose live part is live grow to floor before the next
// collection (at least 100: the floor only ever delays a collection).
func percent(live, floor uint64) int {
	if live == 0 || floor <= 2*live {
		return 100
	}
	return int(min((floor-live)*100/live, 10000))
}

// Start sets the floor (bytes) until stop is called; a floor of 0, or GOGC set in the
// environment (the operator's choice stands), does nothing.
func Start(floor uint64) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set || floor == 0 {
		return func() {}
	}
	var stopped atomic.Bool
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		s := new(sentinel)
		runtime.SetFinalizer(s, func(*sentinel) {
			if stopped.Load() {
				debug.SetGCPercent(100)
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				debug.SetGCPercent(percent(sample[0].Value.Uint64(), floor))
			}
			arm()
		})
	}
	arm()
	return func() { stopped.Store(true) }
}

// sentinel is an object whose finalizer runs after the collection that finds it unreachable: a
// hook after every collection. It holds a pointer so that it is not a tiny allocation, which
// the runtime may batch with others and finalize late.
type sentinel struct {
	_ *byte
	_ [8]byte
}
