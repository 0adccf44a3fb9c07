package billing

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestRecorderBatches: a full batch is written without waiting for the flush interval, a part
// batch waits for it, Add waits while the queue is full and goes on once Run takes it, and
// records added after Close are written at once; every record is written and charged once.
func TestRecorderBatches(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx := context.Background()
	var mu sync.Mutex
	var batches []int
	r := NewRecorder(b.pool, b.q, slog.New(slog.DiscardHandler), RecorderConfig{BatchSize: 4, QueueSize: 6, FlushEvery: time.Hour})
	r.OnFlush = func(recs []Record) {
		mu.Lock()
		batches = append(batches, len(recs))
		mu.Unlock()
	}

	// Nothing runs yet: the queue fills to QueueSize and the next Add waits.
	for i := range 6 {
		r.Add(b.rec(fmt.Sprintf("q-%d", i), 10))
	}
	added := make(chan struct{})
	go func() {
		r.Add(b.rec("q-6", 10))
		close(added)
	}()
	select {
	case <-added:
		t.Fatal("Add went on with the queue full")
	case <-time.After(50 * time.Millisecond):
	}
	runDone := make(chan struct{})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { r.Run(runCtx); close(runDone) }()
	// The queue held a full batch when Add signalled: Run takes all of it (written in batches
	// of at most BatchSize) and the waiting Add goes on.
	<-added
	require.Eventually(t, func() bool { return r.Written() >= 6 }, 10*time.Second, 5*time.Millisecond,
		"a full batch is written without waiting an hour")

	// Three more and the one that waited: four in the queue is a full batch again.
	for i := 7; i < 10; i++ {
		r.Add(b.rec(fmt.Sprintf("q-%d", i), 10))
	}
	require.Eventually(t, func() bool { return r.Written() == 10 }, 10*time.Second, 5*time.Millisecond)

	// A part batch waits for the interval (an hour here), then goes with Close.
	r.Add(b.rec("q-10", 10))
	time.Sleep(50 * time.Millisecond)
	require.EqualValues(t, 10, r.Written(), "a part batch waits for its interval")
	r.Close(ctx)
	<-runDone
	require.EqualValues(t, 11, r.Written())
	r.Add(b.rec("q-11", 10)) // closed: written at once
	require.EqualValues(t, 12, r.Written())
	require.Zero(t, r.Pending())

	rows, quota, balance := b.counts()
	require.EqualValues(t, 12, rows)
	require.EqualValues(t, 120, quota)
	require.EqualValues(t, 1_000_000-120, balance)
	mu.Lock()
	defer mu.Unlock()
	for _, n := range batches {
		require.LessOrEqual(t, n, 4, "no write holds more than BatchSize records")
	}
}

// TestRecorderRefusedRecord: a record whose user no longer exists, and one the database refuses
// for good (a value text cannot hold), are skipped and logged with their request ids; the other
// records of their batch are written and charged, and the writer goes on (before, such a batch
// was retried for ever and every later record waited behind it).
func TestRecorderRefusedRecord(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx := context.Background()
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	r := NewRecorder(b.pool, b.q, log, RecorderConfig{BatchSize: 10, FlushEvery: time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go r.Run(runCtx)
	defer func() { // bounded: a writer held by the refused record must fail the test, not hang it
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		r.Close(cctx)
	}()

	gone := b.rec("gone-1", 7)
	gone.UserID = b.user + 1000 // no such user
	bad := b.rec("bad-1", 5)
	bad.Model = "nul\x00model" // PostgreSQL's text holds no NUL: refused (22021) whatever is tried
	r.Add(b.rec("ok-1", 10))
	r.Add(gone)
	r.Add(bad)
	r.Add(b.rec("ok-2", 20))
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, r.Flush(fctx), "the writer is not held by the refused record")
	r.Add(b.rec("ok-3", 30))
	require.NoError(t, r.Flush(fctx))

	var ids []string
	rows, err := b.pool.Query(ctx, `SELECT request_id FROM usage_logs ORDER BY request_id`)
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"ok-1", "ok-2", "ok-3"}, ids)
	var used int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT used_quota FROM users WHERE id = $1`, b.user).Scan(&used))
	require.Equal(t, int64(60), used, "each written record charged once")
	require.Equal(t, int64(2), r.Refused())
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, logs.String(), "request_id=gone-1")
	require.Contains(t, logs.String(), "request_id=bad-1")
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
