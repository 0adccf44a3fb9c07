package remote

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/store"
)

// Target says where an import goes and how.
type Target struct {
	// SourceID scopes a replace and marks the accounts added ("" for none; merge only).
	SourceID   string
	SourceName string
	// Strategy is merge or replace ("" means merge).
	Strategy string
	// ChannelID, when set, is the channel every account joins; else each provider's default.
	ChannelID *int64
}

// Counts is what an import did.
type Counts struct {
	Total, Added, Skipped, Removed, Failed int
}

// Validate checks an import before anything is written: replace needs a source and accounts.
func (t *Target) Validate(b *Batch) error {
	if t.Strategy == "" {
		t.Strategy = StrategyMerge
	}
	if t.Strategy == StrategyReplace {
		if t.SourceID == "" {
			return fault.New(fault.Invalid, MsgReplaceNeedsSource)
		}
		if len(b.Accounts) == 0 {
			return fault.New(fault.Invalid, MsgReplaceNeedsData)
		}
	}
	return nil
}

// Import writes a batch into the pool in one transaction. Merge adds the tokens not yet in the
// pool and leaves the others' state alone, except the status, type and metadata the payload
// gives; replace does the same, then removes the source's accounts the batch does not list
// (never another source's or a hand-made account). Tokens are matched by their SHA-256, so an
// import costs a few statements whatever its size. Entries repeated in the batch count as
// skipped.
func (s *Service) Import(ctx context.Context, t Target, b *Batch) (Counts, error) {
	if err := t.Validate(b); err != nil {
		return Counts{}, err
	}
	c := Counts{Total: b.Total, Failed: b.Failed()}
	channels := map[string]int64{}
	for _, a := range b.Accounts {
		if _, ok := channels[a.Provider]; ok {
			continue
		}
		id, err := s.channel(ctx, s.cfg.Pool, t.ChannelID, a.Provider)
		if err != nil {
			return Counts{}, err
		}
		channels[a.Provider] = id
	}

	ins := db.RemoteAccountInsertParams{}
	if t.SourceID != "" {
		ins.RemoteSourceID = &t.SourceID
	}
	merge := db.RemoteAccountMergeParams{}
	seen := make(map[[sha256.Size]byte]bool, len(b.Accounts))
	keep := make([][]byte, 0, len(b.Accounts))
	for _, a := range b.Accounts {
		sum := sha256.Sum256([]byte(a.Token))
		if seen[sum] {
			c.Skipped++
			continue
		}
		seen[sum] = true
		hash := sum[:]
		keep = append(keep, hash)
		name := a.Name
		if name == "" {
			name = t.SourceName
		}
		status := a.Status
		if status == "" {
			status = "active"
		}
		ins.ChannelIds = append(ins.ChannelIds, channels[a.Provider])
		ins.Names = append(ins.Names, name)
		ins.CredentialEncs = append(ins.CredentialEncs, s.cfg.Box.Seal(a.Token))
		ins.CredentialTails = append(ins.CredentialTails, secretbox.Tail(a.Token))
		ins.CredentialHashes = append(ins.CredentialHashes, hash)
		ins.Statuses = append(ins.Statuses, status)
		ins.Providers = append(ins.Providers, a.Provider)
		ins.Types = append(ins.Types, a.Type)
		ins.Metadata = append(ins.Metadata, string(a.Metadata))
		if a.Status != "" || a.Type != "" || a.Metadata != nil {
			merge.CredentialHashes = append(merge.CredentialHashes, hash)
			merge.Statuses = append(merge.Statuses, a.Status)
			merge.Types = append(merge.Types, a.Type)
			merge.Metadata = append(merge.Metadata, string(a.Metadata))
		}
	}

	err := store.WithTx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if t.SourceID != "" {
			if err := s.cfg.Queries.RemoteAccountLock(ctx, tx, t.SourceID); err != nil {
				return fmt.Errorf("lock source: %w", err)
			}
		}
		added := map[[sha256.Size]byte]bool{}
		if len(ins.CredentialHashes) > 0 {
			hashes, err := s.cfg.Queries.RemoteAccountInsert(ctx, tx, ins)
			if err != nil {
				return store.Translate(err, "")
			}
			for _, h := range hashes {
				added[[sha256.Size]byte(h)] = true
			}
		}
		c.Added = len(added)
		c.Skipped += len(ins.CredentialHashes) - c.Added
		if len(merge.CredentialHashes) > 0 && c.Added < len(ins.CredentialHashes) {
			m := db.RemoteAccountMergeParams{}
			for i, h := range merge.CredentialHashes {
				if added[[sha256.Size]byte(h)] {
					continue
				}
				m.CredentialHashes = append(m.CredentialHashes, h)
				m.Statuses = append(m.Statuses, merge.Statuses[i])
				m.Types = append(m.Types, merge.Types[i])
				m.Metadata = append(m.Metadata, merge.Metadata[i])
			}
			if len(m.CredentialHashes) > 0 {
				if _, err := s.cfg.Queries.RemoteAccountMerge(ctx, tx, m); err != nil {
					return store.Translate(err, "")
				}
			}
		}
		if t.Strategy == StrategyReplace {
			n, err := s.cfg.Queries.RemoteAccountDeleteMissing(ctx, tx, db.RemoteAccountDeleteMissingParams{
				RemoteSourceID: t.SourceID, Keep: keep})
			if err != nil {
				return store.Translate(err, "")
			}
			c.Removed = int(n)
		}
		return nil
	})
	if err != nil {
		return Counts{}, err
	}
	if len(b.Accounts) > 0 {
		s.cfg.Changed(ctx)
	}
	return c, nil
}

// Inject imports a batch given directly and records it in the job history under its source id.
func (s *Service) Inject(ctx context.Context, t Target, b *Batch) (Counts, error) {
	start := s.now()
	c, err := s.Import(ctx, t, b)
	if err != nil {
		return Counts{}, err
	}
	s.record(ctx, start, t, TriggerInject, c, b.Errors)
	return c, nil
}

// record keeps a finished injection in the job history; a failure to record is logged, since
// the accounts are already in.
func (s *Service) record(ctx context.Context, start time.Time, t Target, trigger string, c Counts, errs []string) {
	ctx = context.WithoutCancel(ctx)
	job, err := s.cfg.Queries.ImportJobCreate(ctx, s.cfg.Pool, db.ImportJobCreateParams{ID: newJobID(),
		SourceID: t.SourceID, SourceName: t.SourceName, Trigger: trigger, Strategy: t.Strategy, Now: start})
	if err == nil {
		_, err = s.finish(ctx, job.ID, "success", c, errs)
	}
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "record import job", "source_id", t.SourceID, "error", err)
	}
}

// maxJobErrors bounds the reasons a job keeps.
const maxJobErrors = 100

func (s *Service) finish(ctx context.Context, id, status string, c Counts, errs []string) (*db.ImportJob, error) {
	if errs == nil {
		errs = []string{}
	}
	if len(errs) > maxJobErrors {
		more := len(errs) - maxJobErrors
		errs = append(errs[:maxJobErrors:maxJobErrors], fmt.Sprintf("... and %d more", more))
	}
	job, err := s.cfg.Queries.ImportJobFinish(ctx, s.cfg.Pool, db.ImportJobFinishParams{ID: id, Status: status,
		Total: int32(c.Total), Added: int32(c.Added), Skipped: int32(c.Skipped), Removed: int32(c.Removed),
		Failed: int32(c.Failed), Errors: errs, Now: s.now()})
	if err != nil {
		return nil, fmt.Errorf("finish import job: %w", err)
	}
	return job, nil
}
