package billing

import (
	"context"
	"errors"
	"time"
)

// Recover replays, before the instance serves, every journal segment of its database that no live
// process holds (the previous run's, killed before its records were written): each record not
// yet in the database is written and charged, the others are skipped by their request id. It
// returns the number of records replayed (written or found already written). Segments it cannot
// write now stay for the periodic scan.
func (r *Recorder) Recover(ctx context.Context) (int, error) {
	if r.cfg.Journal == nil {
		return 0, nil
	}
	total := 0
	var errs []error
	for _, o := range r.cfg.Journal.orphans() {
		n, err := r.replay(ctx, o)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// scanOrphans replays orphaned segments every orphanScanEvery until the recorder closes: a
// neighbour on the same machine that crashed and is not restarted is covered by the survivors.
func (r *Recorder) scanOrphans(ctx context.Context) {
	t := time.NewTicker(orphanScanEvery)
	defer t.Stop()
	for {
		select {
		case <-r.closing:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := r.Recover(ctx); err != nil {
				r.log.Warn("usage journal: replay of orphaned segments incomplete", "replayed", n, "error", err)
			} else if n > 0 {
				r.log.Info("usage journal: replayed orphaned segments", "records", n)
			}
		}
	}
}

// replay writes one orphaned segment's records and deletes it. A record whose user is gone since,
// or that the database refuses for good, is logged and skipped (settle, settleBatch); any other
// failure keeps the segment for a later attempt.
func (r *Recorder) replay(ctx context.Context, o orphan) (int, error) {
	recs, damaged, ours, err := r.cfg.Journal.read(o)
	if err != nil || !ours {
		o.release(false)
		return 0, err
	}
	if damaged > 0 {
		r.log.Warn("usage journal: damaged lines skipped (a write cut by a crash)", "path", o.path, "lines", damaged)
	}
	wctx := context.WithoutCancel(ctx)
	for start := 0; start < len(recs); start += r.cfg.BatchSize {
		batch := recs[start:min(start+r.cfg.BatchSize, len(recs))]
		if n, err := r.settleBatch(wctx, batch); err != nil {
			o.release(false)
			return start + n, err
		}
	}
	o.release(true)
	r.written.Add(int64(len(recs)))
	r.cfg.Journal.replayed.Add(int64(len(recs)))
	return len(recs), nil
}
