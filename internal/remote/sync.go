package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hooksig"
	"github.com/poolgate/poolgate/internal/netguard"
)

// Sync fetches a source and imports its payload with the source's strategy, recording the job.
// The source must be enabled. Any failure after the job starts answers the fixed
// MsgSyncFailed (code remote_sync_failed, 502); the job keeps a redacted reason.
func (s *Service) Sync(ctx context.Context, sourceID, trigger string) (*db.ImportJob, *db.RemoteSource, error) {
	src, err := s.cfg.Queries.RemoteSourceGet(ctx, s.cfg.Pool, sourceID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fault.New(fault.NotFound, MsgSourceNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read source: %w", err)
	}
	if !src.Enabled {
		return nil, nil, fault.Code(fault.Invalid, CodeSourceDisabled, MsgSourceDisabled)
	}
	job, err := s.sync(ctx, src, trigger)
	if err != nil {
		return job, nil, err
	}
	src, err = s.cfg.Queries.RemoteSourceGet(ctx, s.cfg.Pool, sourceID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fault.New(fault.NotFound, MsgSourceNotFound) // deleted meanwhile
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read source: %w", err)
	}
	return job, src, nil
}

// sync runs one sync of src and returns its finished job.
func (s *Service) sync(ctx context.Context, src *db.RemoteSource, trigger string) (*db.ImportJob, error) {
	job, err := s.cfg.Queries.ImportJobCreate(ctx, s.cfg.Pool, db.ImportJobCreateParams{ID: newJobID(),
		SourceID: src.ID, SourceName: src.Name, Trigger: trigger, Strategy: src.SyncStrategy, Now: s.now()})
	if err != nil {
		return nil, fmt.Errorf("create import job: %w", err)
	}
	c, errs, reason := s.run(ctx, src)
	status := "success"
	if reason != "" {
		status, errs = "failed", append([]string{reason}, errs...)
	}
	// The outcome is recorded even when the caller has gone.
	fctx := context.WithoutCancel(ctx)
	job, err = s.finish(fctx, job.ID, status, c, errs)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Queries.RemoteSourceSynced(fctx, s.cfg.Pool, db.RemoteSourceSyncedParams{ID: src.ID,
		LastJobID: &job.ID, Success: reason == "", FinishedAt: job.UpdatedAt}); err != nil {
		return nil, fmt.Errorf("record sync: %w", err)
	}
	if reason != "" {
		s.cfg.Log.WarnContext(ctx, "remote account sync failed", "source_id", src.ID, "job_id", job.ID, "reason", reason)
		return job, &fault.Error{Kind: fault.Upstream, Code: CodeSyncFailed, Message: MsgSyncFailed, Err: errors.New(reason)}
	}
	return job, nil
}

// run fetches and imports; reason is a redacted description of a failure ("" on success).
func (s *Service) run(ctx context.Context, src *db.RemoteSource) (c Counts, errs []string, reason string) {
	body, reason := s.fetch(ctx, src)
	if reason != "" {
		return Counts{}, nil, reason
	}
	b, err := Parse(body, src.Provider)
	if err != nil {
		return Counts{}, nil, "payload: " + err.Error()
	}
	t := Target{SourceID: src.ID, SourceName: src.Name, Strategy: src.SyncStrategy, ChannelID: src.ChannelID}
	c, err = s.Import(ctx, t, b)
	if err != nil {
		if fe, ok := fault.As(err); ok && fe.Kind != fault.Unavailable {
			return Counts{Total: b.Total, Failed: b.Failed()}, b.Errors, "import: " + fe.Message
		}
		s.cfg.Log.ErrorContext(ctx, "import remote accounts", "source_id", src.ID, "error", err)
		return Counts{Total: b.Total, Failed: b.Failed()}, b.Errors, "import: the accounts could not be written"
	}
	return c, b.Errors, ""
}

// fetch reads a source's payload. Failures are described without the URL, the headers, the
// credentials or the response body.
func (s *Service) fetch(ctx context.Context, src *db.RemoteSource) ([]byte, string) {
	if err := s.cfg.Guard.Check(ctx, src.URL); err != nil {
		return nil, fetchReason(err)
	}
	req, err := http.NewRequestWithContext(ctx, src.Method, src.URL, http.NoBody)
	if err != nil {
		return nil, "fetch: the source URL is invalid"
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Poolgate remote-account sync")
	switch {
	case src.BearerTokenEnc != nil:
		tok, err := s.cfg.Box.Open(src.BearerTokenEnc)
		if err != nil {
			return nil, "fetch: the source's bearer token cannot be decrypted"
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case src.AuthHeader != "" && src.AuthTokenEnc != nil:
		tok, err := s.cfg.Box.Open(src.AuthTokenEnc)
		if err != nil {
			return nil, "fetch: the source's auth token cannot be decrypted"
		}
		req.Header.Set(src.AuthHeader, tok)
	}
	if len(s.cfg.Secret) > 0 {
		hooksig.SignRequest(s.cfg.Secret, req, nil, s.cfg.Now())
	}
	res, err := s.client.Do(req) //nolint:gosec // the URL is an administrator's, checked by the guard at dial time
	if err != nil {
		return nil, fetchReason(err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return nil, fmt.Sprintf("fetch: the source answered HTTP %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, s.cfg.MaxPayload+1))
	if err != nil {
		return nil, fetchReason(err)
	}
	if int64(len(body)) > s.cfg.MaxPayload {
		return nil, fmt.Sprintf("fetch: the payload is larger than %d bytes", s.cfg.MaxPayload)
	}
	return body, ""
}

// fetchReason classifies a fetch error without quoting it (a *url.Error holds the URL).
func fetchReason(err error) string {
	switch {
	case errors.Is(err, netguard.ErrBlocked):
		return "fetch: the source's address is not allowed (loopback, private or link-local; see ALLOW_PRIVATE_OUTBOUND)"
	case errors.Is(err, netguard.ErrResolve):
		return "fetch: the source's host does not resolve"
	case errors.Is(err, netguard.ErrURL):
		return "fetch: the source URL is invalid"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "fetch: timed out"
	case errors.Is(err, context.Canceled):
		return "fetch: cancelled"
	default:
		return "fetch: the source could not be reached"
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
