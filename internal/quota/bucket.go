package quota

import (
	"context"
	"math"
	"sync"
	"time"
)

// A bucket is one user's use of one family's shared quota: Used units, recovering continuously
// at cap per recovery period since At (Unix milliseconds). Recovery moves At forward by exactly
// the time the recovered whole units took, so frequent calls never lose the fractions between
// them. Every store applies the same arithmetic (the Redis script mirrors step).
type bucket struct {
	Used int64
	At   int64
}

// params are the numbers one operation needs: the cap and the recovery period in milliseconds.
type params struct {
	Cap, Recovery int64
}

// step recovers b to now.
func (b *bucket) step(now int64, p params) {
	if b.Used <= 0 || p.Cap <= 0 || p.Recovery <= 0 {
		if b.Used <= 0 {
			b.Used, b.At = 0, now
		}
		return
	}
	elapsed := now - b.At
	if elapsed <= 0 {
		return
	}
	r := int64(float64(elapsed) * float64(p.Cap) / float64(p.Recovery))
	if r >= b.Used {
		b.Used, b.At = 0, now
		return
	}
	b.Used -= r
	b.At += int64(float64(r) * float64(p.Recovery) / float64(p.Cap))
}

// untilBelow is how long (ms) until Used recovers down to target (0 when it already is; -1 never).
func (b *bucket) untilBelow(target, now int64, p params) int64 {
	if b.Used <= target {
		return 0
	}
	if p.Cap <= 0 || p.Recovery <= 0 {
		return -1
	}
	need := b.Used - target
	ms := int64(math.Ceil(float64(need)*float64(p.Recovery)/float64(p.Cap))) + b.At - now
	return max(ms, 1)
}

// take reserves cost units if at least one unit remains under the cap; otherwise it answers how
// long (ms) until one does (-1: never, the cap is 0).
func (b *bucket) take(now, cost int64, p params) (bool, int64) {
	b.step(now, p)
	if b.Used+1 > p.Cap {
		return false, b.untilBelow(p.Cap-1, now, p)
	}
	if b.Used == 0 {
		b.At = now
	}
	b.Used += cost
	return true, 0
}

// adjust adds delta units (negative gives units back), never below zero.
func (b *bucket) adjust(now, delta int64, p params) {
	b.step(now, p)
	if b.Used == 0 && delta > 0 {
		b.At = now
	}
	b.Used = max(b.Used+delta, 0)
	if b.Used == 0 {
		b.At = now
	}
}

type store interface {
	take(ctx context.Context, key string, cost int64, p params) (bool, int64, error)
	adjust(ctx context.Context, key string, delta int64, p params) error
	read(ctx context.Context, key string, p params) (bucket, int64, error) // the bucket recovered to now, and now
}

// memStore keeps buckets in process: exact for one instance.
type memStore struct {
	now func() time.Time
	mu  sync.Mutex
	b   map[string]*bucket
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, b: map[string]*bucket{}}
}

func (m *memStore) get(key string, now int64) *bucket {
	b := m.b[key]
	if b == nil {
		b = &bucket{At: now}
		m.b[key] = b
	}
	return b
}

func (m *memStore) take(_ context.Context, key string, cost int64, p params) (bool, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixMilli()
	ok, wait := m.get(key, now).take(now, cost, p)
	return ok, wait, nil
}

func (m *memStore) adjust(_ context.Context, key string, delta int64, p params) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixMilli()
	b := m.get(key, now)
	b.adjust(now, delta, p)
	if b.Used == 0 {
		delete(m.b, key)
	}
	return nil
}

func (m *memStore) read(_ context.Context, key string, p params) (bucket, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixMilli()
	b := m.b[key]
	if b == nil {
		return bucket{At: now}, now, nil
	}
	b.step(now, p)
	return *b, now, nil
}
