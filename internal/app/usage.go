package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/config"
)

// openUsage opens the usage journal (when configured), makes the usage recorder, and replays
// what a previous run of this database left in the journal before anything is served.
func (a *App) openUsage(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	rc := billing.RecorderConfig{BatchSize: cfg.UsageBatchSize, FlushEvery: cfg.UsageFlushEvery, QueueSize: cfg.UsageQueueSize}
	if cfg.UsageJournalDir != "" {
		dbid, err := a.Queries.UsageJournalDatabase(ctx, a.Pool)
		if err != nil {
			return fmt.Errorf("usage journal: identify the database: %w", err)
		}
		jc := billing.JournalConfig{Dir: cfg.UsageJournalDir, Database: dbid,
			SyncEvery: cfg.UsageJournalSyncEvery, SegmentBytes: cfg.UsageJournalSegmentBytes, Log: log}
		rc.Journal, err = billing.OpenJournal(jc)
		if err != nil && cfg.UsageJournalDir == filepath.Join(cfg.DataDir, "usage-journal") {
			// The default place is not writable (a read-only working directory): the system's
			// temporary directory still outlives a crash of the process.
			jc.Dir = filepath.Join(os.TempDir(), "poolgate-usage-journal")
			log.Warn("usage journal: the default directory is not writable; using the temporary directory (set USAGE_JOURNAL_DIR)",
				"dir", jc.Dir, "error", err)
			rc.Journal, err = billing.OpenJournal(jc)
		}
		if err != nil {
			return err
		}
		a.journal = rc.Journal
	}
	a.Usage = billing.NewRecorder(a.Pool, a.Queries, log, rc)
	n, err := a.Usage.Recover(ctx)
	if n > 0 {
		log.Info("usage journal: replayed records of a previous run", "records", n)
	}
	if err != nil {
		log.Error("usage journal: replay incomplete; retried in the background", "error", err)
	}
	return nil
}
