package admin

import (
	"context"
	"strings"
	"time"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/remote"
	"github.com/poolgate/poolgate/internal/store"
)

// Remote source defaults when the create body leaves a field out.
const (
	defaultRemoteMethod = "GET"
	defaultJobLimit     = 50
	maxJobLimit         = 500
	// newSourceAttempts bounds retries on the (48-bit) source id colliding.
	newSourceAttempts = 3
)

// RemoteSourceList lists every remote source with its latest sync job.
func (h *Handler) RemoteSourceList(ctx context.Context, _ adminapi.RemoteSourceListRequestObject) (adminapi.RemoteSourceListResponseObject, error) {
	list, err := h.remoteSources(ctx)
	if err != nil {
		return nil, err
	}
	return adminapi.RemoteSourceList200JSONResponse{Sources: list}, nil
}

// RemoteSourceCreate saves a new source (its secrets sealed) and answers with it and every source.
func (h *Handler) RemoteSourceCreate(ctx context.Context, req adminapi.RemoteSourceCreateRequestObject) (adminapi.RemoteSourceCreateResponseObject, error) {
	b := req.Body
	url, enabled := wire.Ptr(b.Url), wire.Ptr(b.Enabled)
	if url == nil || strings.TrimSpace(*url) == "" {
		return nil, fault.New(fault.Invalid, remote.MsgURLRequired)
	}
	p := db.RemoteSourceCreateParams{Name: deref(wire.Ptr(b.Name)), Enabled: enabled == nil || *enabled,
		URL: strings.TrimSpace(*url), Method: defaultRemoteMethod, AuthHeader: deref(wire.Ptr(b.AuthHeader)),
		Provider: string(deref(wire.Ptr(b.Provider))), SyncStrategy: remote.StrategyMerge}
	if err := h.Remote.CheckURL(ctx, p.URL); err != nil {
		return nil, err
	}
	if m := wire.Ptr(b.Method); m != nil {
		p.Method = string(*m)
	}
	if st := wire.Ptr(b.SyncStrategy); st != nil {
		p.SyncStrategy = string(*st)
	}
	p.AuthTokenEnc = h.sealOptional(wire.Ptr(b.AuthToken))
	p.BearerTokenEnc = h.sealOptional(wire.Ptr(b.BearerToken))
	var err error
	if p.IntervalSeconds, err = intervalOf(wire.Ptr(b.IntervalSeconds)); err != nil {
		return nil, err
	}
	if p.ChannelID, err = h.remoteChannel(ctx, wire.Ptr(b.ChannelId)); err != nil {
		return nil, err
	}
	var src *db.RemoteSource
	for range newSourceAttempts {
		p.ID = remote.NewSourceID()
		src, err = h.Queries.RemoteSourceCreate(ctx, h.Pool, p)
		if !store.IsUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return h.remoteSaved(ctx, src.ID)
}

// RemoteSourceUpdate changes the fields present and not null.
func (h *Handler) RemoteSourceUpdate(ctx context.Context, req adminapi.RemoteSourceUpdateRequestObject) (adminapi.RemoteSourceUpdateResponseObject, error) {
	b := req.Body
	p := db.RemoteSourceUpdateParams{ID: req.SourceId, Name: wire.Ptr(b.Name), Enabled: wire.Ptr(b.Enabled), AuthHeader: wire.Ptr(b.AuthHeader)}
	if url := wire.Ptr(b.Url); url != nil {
		u := strings.TrimSpace(*url)
		if u == "" {
			return nil, fault.New(fault.Invalid, remote.MsgURLRequired)
		}
		if err := h.Remote.CheckURL(ctx, u); err != nil {
			return nil, err
		}
		p.URL = &u
	}
	if m := wire.Ptr(b.Method); m != nil {
		p.Method = ptrTo(string(*m))
	}
	if pr := wire.Ptr(b.Provider); pr != nil {
		p.Provider = ptrTo(string(*pr))
	}
	if st := wire.Ptr(b.SyncStrategy); st != nil {
		p.SyncStrategy = ptrTo(string(*st))
	}
	if tok := wire.Ptr(b.AuthToken); tok != nil {
		p.SetAuthToken, p.AuthTokenEnc = true, h.sealOptional(tok)
	}
	if tok := wire.Ptr(b.BearerToken); tok != nil {
		p.SetBearerToken, p.BearerTokenEnc = true, h.sealOptional(tok)
	}
	var err error
	if iv := wire.Ptr(b.IntervalSeconds); iv != nil {
		p.SetInterval = true
		if p.IntervalSeconds, err = intervalOf(iv); err != nil {
			return nil, err
		}
	}
	if ch := wire.Ptr(b.ChannelId); ch != nil {
		p.SetChannel = true
		if p.ChannelID, err = h.remoteChannel(ctx, ch); err != nil {
			return nil, err
		}
	}
	if _, err := h.Queries.RemoteSourceUpdate(ctx, h.Pool, p); err != nil {
		return nil, store.Translate(err, remote.MsgSourceNotFound)
	}
	res, err := h.remoteSaved(ctx, req.SourceId)
	if err != nil {
		return nil, err
	}
	return adminapi.RemoteSourceUpdate200JSONResponse(res), nil
}

// RemoteSourceDelete deletes a source's configuration (not its accounts, not its job history)
// and answers with the sources left.
func (h *Handler) RemoteSourceDelete(ctx context.Context, req adminapi.RemoteSourceDeleteRequestObject) (adminapi.RemoteSourceDeleteResponseObject, error) {
	n, err := h.Queries.RemoteSourceDelete(ctx, h.Pool, req.SourceId)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, remote.MsgSourceNotFound)
	}
	list, err := h.remoteSources(ctx)
	if err != nil {
		return nil, err
	}
	return adminapi.RemoteSourceDelete200JSONResponse{Sources: list}, nil
}

// RemoteSourceSync syncs a source now and answers with its job and the source.
func (h *Handler) RemoteSourceSync(ctx context.Context, req adminapi.RemoteSourceSyncRequestObject) (adminapi.RemoteSourceSyncResponseObject, error) {
	job, src, err := h.Remote.Sync(ctx, req.SourceId, remote.TriggerManual)
	if err != nil {
		return nil, err
	}
	out := importJobOut(job)
	s := remoteSourceOut(src, &out)
	return adminapi.RemoteSourceSync200JSONResponse{ImportJob: out, Source: s}, nil
}

// RemoteSourceSyncStatus answers with a source's latest sync job (null before the first).
func (h *Handler) RemoteSourceSyncStatus(ctx context.Context, req adminapi.RemoteSourceSyncStatusRequestObject) (adminapi.RemoteSourceSyncStatusResponseObject, error) {
	src, err := h.Queries.RemoteSourceGet(ctx, h.Pool, req.SourceId)
	if err != nil {
		return nil, store.Translate(err, remote.MsgSourceNotFound)
	}
	jobs, err := h.remoteJobs(ctx, []*db.RemoteSource{src})
	if err != nil {
		return nil, err
	}
	return adminapi.RemoteSourceSyncStatus200JSONResponse{ImportJob: jobs[src.ID]}, nil
}

// RemoteSourceJobList lists the jobs recorded under a source id, newest first.
func (h *Handler) RemoteSourceJobList(ctx context.Context, req adminapi.RemoteSourceJobListRequestObject) (adminapi.RemoteSourceJobListResponseObject, error) {
	limit := defaultJobLimit
	if req.Params.Limit != nil {
		limit = min(max(*req.Params.Limit, 1), maxJobLimit)
	}
	rows, err := h.Queries.ImportJobListBySource(ctx, h.Pool, db.ImportJobListBySourceParams{
		SourceID: req.SourceId, Lim: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := adminapi.RemoteSourceJobList200JSONResponse{ImportJobs: make([]adminapi.ImportJob, 0, len(rows))}
	for _, j := range rows {
		out.ImportJobs = append(out.ImportJobs, importJobOut(j))
	}
	return out, nil
}

// remoteSaved answers a create or update: the source and every source.
func (h *Handler) remoteSaved(ctx context.Context, id string) (adminapi.RemoteSourceCreate200JSONResponse, error) {
	list, err := h.remoteSources(ctx)
	if err != nil {
		return adminapi.RemoteSourceCreate200JSONResponse{}, err
	}
	for _, s := range list {
		if s.Id == id {
			return adminapi.RemoteSourceCreate200JSONResponse{Source: s, Sources: list}, nil
		}
	}
	return adminapi.RemoteSourceCreate200JSONResponse{}, fault.New(fault.NotFound, remote.MsgSourceNotFound) // deleted meanwhile
}

// remoteSources reads every source with its latest job.
func (h *Handler) remoteSources(ctx context.Context) ([]adminapi.RemoteSource, error) {
	rows, err := h.Queries.RemoteSourceList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	jobs, err := h.remoteJobs(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := make([]adminapi.RemoteSource, 0, len(rows))
	for _, r := range rows {
		out = append(out, remoteSourceOut(r, jobs[r.ID]))
	}
	return out, nil
}

// remoteJobs reads the latest job of each source, by source id.
func (h *Handler) remoteJobs(ctx context.Context, srcs []*db.RemoteSource) (map[string]*adminapi.ImportJob, error) {
	ids := make([]string, 0, len(srcs))
	for _, s := range srcs {
		if s.LastJobID != nil {
			ids = append(ids, *s.LastJobID)
		}
	}
	out := make(map[string]*adminapi.ImportJob, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := h.Queries.ImportJobListByIDs(ctx, h.Pool, ids)
	if err != nil {
		return nil, err
	}
	for _, j := range rows {
		o := importJobOut(j)
		out[j.SourceID] = &o
	}
	return out, nil
}

// remoteChannel checks an explicit channel of a source (0 means the per-provider default).
func (h *Handler) remoteChannel(ctx context.Context, id *int64) (*int64, error) {
	if id == nil || *id == 0 {
		return nil, nil
	}
	if err := h.Remote.CheckChannel(ctx, *id); err != nil {
		return nil, err
	}
	return id, nil
}

// sealOptional seals a secret; an absent or empty one is none.
func (h *Handler) sealOptional(s *string) []byte {
	if s == nil || *s == "" {
		return nil
	}
	return h.Box.Seal(*s)
}

// intervalOf converts an optional interval; 0 means none.
func intervalOf(v *int) (*int32, error) {
	if v == nil || *v == 0 {
		return nil, nil
	}
	return int32Ptr("interval_seconds", v)
}

// remoteTimeLayout renders times as the seed does: RFC 3339, to the second, with +00:00.
const remoteTimeLayout = "2006-01-02T15:04:05-07:00"

func remoteTime(t time.Time) string { return t.UTC().Format(remoteTimeLayout) }

func importJobOut(j *db.ImportJob) adminapi.ImportJob {
	errs := j.Errors
	if errs == nil {
		errs = []string{}
	}
	return adminapi.ImportJob{JobId: j.ID, Status: adminapi.ImportJobStatus(j.Status), CreatedAt: remoteTime(j.CreatedAt),
		UpdatedAt: remoteTime(j.UpdatedAt), SourceId: j.SourceID, SourceName: j.SourceName,
		Strategy: adminapi.RemoteStrategy(j.Strategy), Total: int(j.Total), Added: int(j.Added), Skipped: int(j.Skipped),
		Removed: int(j.Removed), Failed: int(j.Failed), Errors: errs}
}

// remoteSourceOut converts a source; its secrets never leave, only whether they are set.
func remoteSourceOut(s *db.RemoteSource, job *adminapi.ImportJob) adminapi.RemoteSource {
	out := adminapi.RemoteSource{Id: s.ID, Name: s.Name, Enabled: s.Enabled, Url: s.URL, Method: adminapi.RemoteMethod(s.Method),
		AuthHeader: s.AuthHeader, Provider: adminapi.RemoteProvider(s.Provider), SyncStrategy: adminapi.RemoteStrategy(s.SyncStrategy),
		ImportJob: job, HasAuthToken: s.AuthTokenEnc != nil, HasBearerToken: s.BearerTokenEnc != nil, ChannelId: s.ChannelID,
		IntervalSeconds: wire.NullMap(s.IntervalSeconds, func(v int32) int { return int(v) })}
	if s.LastSyncAt != nil {
		out.LastSyncAt = remoteTime(*s.LastSyncAt)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptrTo[T any](v T) *T { return &v }
