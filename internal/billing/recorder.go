package billing

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
)

// Record is one gateway call to log and charge.
type Record struct {
	RequestID        string // unique per call: a retried write never charges twice
	UserID           int64
	APIKeyID         int64 // 0: none
	ChannelID        int64 // 0: none
	AccountID        int64 // 0: none
	Model            string
	Endpoint         string
	Stream           bool
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	// CacheWrite5mTokens and CacheWrite1hTokens are the parts of PromptTokens written to a prompt
	// cache; ReasoningTokens the part of CompletionTokens spent reasoning.
	CacheWrite5mTokens int64
	CacheWrite1hTokens int64
	ReasoningTokens    int64
	Quota              int64
	StatusCode         int
	Duration           time.Duration
	At                 time.Time
	// UpstreamModel is the model name sent upstream (the channel's mapping of Model; "" before an
	// upstream was tried). FirstToken is the time from the request to the first byte of a streamed
	// answer (0: not streamed or nothing sent).
	UpstreamModel string
	FirstToken    time.Duration
}

// RecorderConfig sizes the queue and batches.
type RecorderConfig struct {
	BatchSize  int
	FlushEvery time.Duration
	QueueSize  int
	// Journal, when set, keeps each record on local disk from Add until it is written
	// (journal.go); nil: records wait in memory only.
	Journal *Journal
}

// queued is a record waiting to be written and the journal segment holding it (nil: none).
type queued struct {
	rec Record
	seg *segment
}

// Recorder writes usage records in batches off the request path. Add never drops a record: when
// the queue is full it waits (backpressure). A batch that fails to write is retried until it
// succeeds or the recorder is closed with a deadline; the request id makes retries idempotent.
//
// The queue is a slice under a mutex, not a channel: Run is woken when a batch is full or its
// interval has passed, not once per record (a channel wakes the writer on nearly every call).
type Recorder struct {
	pool *pgxpool.Pool
	q    *db.Queries
	log  *slog.Logger
	cfg  RecorderConfig

	mu     sync.Mutex
	room   sync.Cond // signalled when Run takes the queue or the recorder closes (Add waits on it when full)
	queue  []queued  // added and not yet taken by Run
	spare  []queued  // Run's other buffer: the queue swaps with it, so neither is reallocated
	closed bool      // Close was called: Add writes directly

	full    chan struct{} // a batch is ready (capacity 1: a signal, not a count)
	closing chan struct{}
	done    chan struct{}
	once    sync.Once

	// OnFlush, when set, is called with the records of each batch written (the gateway uses it
	// to settle its in-process spend counters).
	OnFlush func([]Record)

	written atomic.Int64
	pending atomic.Int64
	refused atomic.Int64 // records skipped: their user gone (settle) or refused for good (settleBatch)
}

// NewRecorder makes a recorder; Run writes, Close drains.
func NewRecorder(pool *pgxpool.Pool, q *db.Queries, log *slog.Logger, cfg RecorderConfig) *Recorder {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 100 * time.Millisecond
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 20000
	}
	r := &Recorder{pool: pool, q: q, log: log, cfg: cfg, full: make(chan struct{}, 1),
		closing: make(chan struct{}), done: make(chan struct{})}
	r.room.L = &r.mu
	return r
}

// Add journals a record (one append to the local journal, when there is one) and queues it,
// waiting while the queue is full. Once the recorder is closed the record is written
// synchronously instead. The gateway calls Add before the last bytes of an answer go out, so an
// answer the caller has in full always has its record on disk.
func (r *Recorder) Add(rec Record) {
	r.pending.Add(1)
	q := queued{rec: rec}
	r.mu.Lock()
	if !r.closed && r.cfg.Journal != nil {
		// The append is a copy into a mapped file: done outside the lock, so that callers
		// journal side by side.
		r.mu.Unlock()
		q.seg, _ = r.cfg.Journal.Append(&q.rec) // a failing journal is logged by Append; the record goes on in memory
		r.mu.Lock()
	}
	for !r.closed && len(r.queue) >= r.cfg.QueueSize {
		r.room.Wait()
	}
	if r.closed {
		// Closed: write it directly so nothing is lost during shutdown.
		r.mu.Unlock()
		r.write(context.Background(), []queued{q})
		return
	}
	r.queue = append(r.queue, q)
	if len(r.queue) == r.cfg.BatchSize {
		select {
		case r.full <- struct{}{}:
		default: // Run has been told already
		}
	}
	r.mu.Unlock()
}

// Written counts records written so far.
func (r *Recorder) Written() int64 { return r.written.Load() }

// Refused counts the records the recorder skipped, each logged with its request id: those whose
// user no longer exists and those the database refused for good.
func (r *Recorder) Refused() int64 { return r.refused.Load() }

// Pending counts records added but not yet written.
func (r *Recorder) Pending() int64 { return r.pending.Load() }

// take hands Run everything queued (and, once closed, tells it so), leaving the queue empty.
func (r *Recorder) take() (batch []queued, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	batch, r.queue, r.spare = r.queue, r.spare[:0], nil
	r.room.Broadcast()
	return batch, r.closed
}

// Run writes batches until Close; it returns after the queue is drained.
func (r *Recorder) Run(ctx context.Context) {
	defer close(r.done)
	if r.cfg.Journal != nil {
		scanDone := make(chan struct{})
		defer func() { <-scanDone }()
		go func() { defer close(scanDone); r.scanOrphans(ctx) }()
	}
	timer := time.NewTimer(r.cfg.FlushEvery)
	defer timer.Stop()
	for {
		closing := false
		select {
		case <-r.full:
		case <-timer.C:
			timer.Reset(r.cfg.FlushEvery)
		case <-r.closing:
			closing = true
		}
		batch, closed := r.take()
		for start := 0; start < len(batch); start += r.cfg.BatchSize {
			r.write(ctx, batch[start:min(start+r.cfg.BatchSize, len(batch))])
		}
		clear(batch) // keeps no record's strings alive
		r.mu.Lock()
		r.spare = batch[:0]
		r.mu.Unlock()
		if closing && closed {
			return
		}
	}
}

// Close stops accepting queued records, writes everything queued, and waits (bounded by ctx).
func (r *Recorder) Close(ctx context.Context) {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.room.Broadcast()
		r.mu.Unlock()
		close(r.closing)
	})
	select {
	case <-r.done:
	case <-ctx.Done():
		r.log.Error("usage recorder did not drain before the shutdown deadline", "pending", r.pending.Load())
	}
}

// Flush waits until every record added so far is written (tests and shutdown use it).
func (r *Recorder) Flush(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for r.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// recScratch holds the records of the batches being written (a batch's records are copied out of
// its queue entries once, into a slice reused from batch to batch).
var recScratch = sync.Pool{New: func() any { return new([]Record) }}

func (r *Recorder) write(ctx context.Context, batch []queued) {
	sp := recScratch.Get().(*[]Record) //nolint:forcetypeassert // the pool holds nothing else
	recs := (*sp)[:0]
	for i := range batch {
		recs = append(recs, batch[i].rec)
	}
	defer func() {
		clear(recs) // keeps no record's strings alive
		*sp = recs[:0]
		recScratch.Put(sp)
	}()
	wctx := context.WithoutCancel(ctx)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// A retry writes the whole batch again: the records written before a failure are
		// skipped by their request id.
		_, err := r.settleBatch(wctx, recs)
		if err == nil {
			break
		}
		r.log.Error("write usage batch", "records", len(recs), "attempt", attempt, "error", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			// Shutting down past the drain deadline with the database away: the records stay in
			// the journal (not marked written), which the next start replays; without a journal
			// they are lost, and said so.
			r.log.Error("usage batch not written at shutdown", "records", len(recs), "journal", r.cfg.Journal != nil, "error", err)
			return
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
	r.written.Add(int64(len(recs)))
	if r.OnFlush != nil {
		r.OnFlush(recs)
	}
	r.journaled(batch)
	r.pending.Add(-int64(len(recs)))
}

// journaled tells the journal which of its records are now durable, one call per segment run.
func (r *Recorder) journaled(batch []queued) {
	j := r.cfg.Journal
	if j == nil {
		return
	}
	var seg *segment
	var n int64
	for i := range batch {
		if batch[i].seg != seg {
			j.Written(seg, n)
			seg, n = batch[i].seg, 0
		}
		n++
	}
	j.Written(seg, n)
}

// settleBatch writes and charges recs. When the database refuses the batch for good
// (refusedForGood: a value it cannot store), it writes them one at a time and skips, logging
// each, the records it refuses: one such record never holds back the others, nor keeps the
// writer retrying a batch that can never be written (a record whose user is gone is skipped by
// the statement itself: settle). It returns how many
// of recs it went through (written, found already written or skipped) before a failure that may
// pass (err): the database away, a timeout.
func (r *Recorder) settleBatch(ctx context.Context, recs []Record) (int, error) {
	err := r.settle(ctx, recs)
	if err == nil {
		return len(recs), nil
	}
	if !refusedForGood(err) {
		return 0, err
	}
	for i := range recs {
		err := r.settle(ctx, recs[i:i+1])
		switch {
		case err == nil:
		case refusedForGood(err):
			r.refused.Add(1)
			r.log.Error("usage record refused by the database; skipped", "request_id", recs[i].RequestID,
				"user_id", recs[i].UserID, "quota", recs[i].Quota, "error", err)
		default:
			return i, err
		}
	}
	return len(recs), nil
}

// refusedForGood says the database refused a statement for what its values are (SQLSTATE class
// 22, a data exception, or 23, an integrity violation), not for a passing reason: sent again, it
// is refused again.
func refusedForGood(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && len(pe.Code) == 5 && (pe.Code[:2] == "22" || pe.Code[:2] == "23")
}

// settle writes and charges records in one statement (a request id already recorded is
// skipped). A record whose user no longer exists is skipped, counted and logged.
func (r *Recorder) settle(ctx context.Context, recs []Record) error {
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	skipped, err := execSettle(actx, r.pool, recs)
	for _, id := range skipped {
		r.refused.Add(1)
		r.log.Error("usage record of a user that no longer exists; skipped", "request_id", id)
	}
	return err
}
