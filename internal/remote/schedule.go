package remote

import (
	"context"
	"fmt"
	"time"
)

// schedulerLock is the PostgreSQL advisory lock key held by the instance running scheduled syncs
// ("poolremt").
const schedulerLock int64 = 0x706f6f6c72656d74

// Tick runs the scheduled syncs that are due, if no other instance is running them: it takes a
// session advisory lock (pg_try_advisory_lock) without waiting, claims the due sources by
// pushing their next sync one interval ahead, and syncs each in turn. It returns how many
// sources it synced; ran is false when another instance held the lock. A failed sync is
// recorded in its job and logged; it does not stop the others.
func (s *Service) Tick(ctx context.Context) (synced int, ran bool, err error) {
	conn, err := s.cfg.Pool.Acquire(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	ok, err := s.cfg.Queries.RemoteSchedulerTryLock(ctx, conn, schedulerLock)
	if err != nil {
		return 0, false, fmt.Errorf("take scheduler lock: %w", err)
	}
	if !ok {
		return 0, false, nil
	}
	defer func() {
		if uerr := s.cfg.Queries.RemoteSchedulerUnlock(context.WithoutCancel(ctx), conn, schedulerLock); uerr != nil {
			// A connection that cannot unlock is closed, which releases the lock.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	due, err := s.cfg.Queries.RemoteSourceClaimDue(ctx, conn, s.now())
	if err != nil {
		return 0, true, fmt.Errorf("claim due sources: %w", err)
	}
	for _, src := range due {
		if ctx.Err() != nil {
			break
		}
		if _, err := s.sync(ctx, src, TriggerSchedule); err != nil {
			s.cfg.Log.WarnContext(ctx, "scheduled remote sync", "source_id", src.ID, "error", err)
			continue
		}
		synced++
	}
	return synced, true, nil
}

// Run runs Tick every Config.Tick until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		if _, _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.WarnContext(ctx, "remote sync scheduler", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
