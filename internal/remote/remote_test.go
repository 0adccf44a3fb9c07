package remote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/remote"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/testdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}

// clock is an injectable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

type testBundle struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	q       *db.Queries
	box     *secretbox.Box
	clock   *clock
	svc     *remote.Service
	changed *atomic.Int32
	gpt     int64 // the remote-gpt channel
	grok    int64 // the remote-grok channel
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	b := &testBundle{ctx: context.Background(), pool: testdb.New(t), q: db.New(),
		clock: &clock{now: time.Date(2026, 5, 23, 10, 15, 29, 0, time.UTC)}, changed: &atomic.Int32{}}
	var err error
	b.box, err = secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	b.svc = b.service(t, "127.0.0.0/8")
	b.gpt = b.channel(t, "remote-gpt", "openai")
	b.grok = b.channel(t, "remote-grok", "openai")
	return b
}

// service makes another Service (another instance) on the bundle's database.
func (b *testBundle) service(t testing.TB, allow string) *remote.Service {
	t.Helper()
	g, err := netguard.New(allow)
	require.NoError(t, err)
	s := remote.New(remote.Config{Pool: b.pool, Queries: b.q, Box: b.box, Guard: g, Now: b.clock.Now,
		Changed: func(context.Context) { b.changed.Add(1) }})
	t.Cleanup(s.Close)
	return s
}

func (b *testBundle) channel(t testing.TB, name, typ string) int64 {
	t.Helper()
	c, err := b.q.ChannelCreate(b.ctx, b.pool, db.ChannelCreateParams{Name: name, Type: typ,
		BaseURL: "http://127.0.0.1:1/v1", Models: []string{}, Weight: 1, Status: "active"})
	require.NoError(t, err)
	return c.ID
}

// account is an account row as the tests look at it.
type account struct {
	ChannelID int64
	Token     string
	Source    *string
	Provider  *string
	Type      *string
	Metadata  *string
	Status    string
	Name      string
	Successes int64
}

// accounts reads every account, credentials opened, by id.
func (b *testBundle) accounts(t *testing.T) []account {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, `SELECT channel_id, credential_enc, remote_source_id, provider, type,
		metadata::text, status, name, success_count FROM accounts ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []account
	for rows.Next() {
		var a account
		var enc []byte
		require.NoError(t, rows.Scan(&a.ChannelID, &enc, &a.Source, &a.Provider, &a.Type, &a.Metadata, &a.Status, &a.Name, &a.Successes))
		a.Token, err = b.box.Open(enc)
		require.NoError(t, err)
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

func (b *testBundle) tokens(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, a := range b.accounts(t) {
		out = append(out, a.Token)
	}
	return out
}

func parse(t *testing.T, payload, provider string) *remote.Batch {
	t.Helper()
	batch, err := remote.Parse([]byte(payload), provider)
	require.NoError(t, err)
	return batch
}

func ptr[T any](v T) *T { return &v }

func requireFault(t *testing.T, err error, kind fault.Kind, code, msg string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, kind, fe.Kind)
	require.Equal(t, code, fe.Code)
	require.Equal(t, msg, fe.Message)
}

func TestImportMerge(t *testing.T) {
	t.Parallel()
	b := setup(t)

	c, err := b.svc.Inject(b.ctx, remote.Target{SourceID: "manual-gpt", SourceName: "Manual GPT", Strategy: "merge"},
		parse(t, `{"tokens": ["example-gpt-token-1", "example-gpt-token-2", "example-gpt-token-1"]}`, "gpt"))
	require.NoError(t, err)
	require.Equal(t, remote.Counts{Total: 3, Added: 2, Skipped: 1}, c)
	require.EqualValues(t, 1, b.changed.Load(), "routes are invalidated")

	c, err = b.svc.Inject(b.ctx, remote.Target{SourceID: "manual-grok", SourceName: "Manual Grok"},
		parse(t, `{"accounts": [{"token": "example-grok-token-1", "provider": "grok", "type": "basic", "metadata": {"team": "ops"}}]}`, "grok"))
	require.NoError(t, err)
	require.Equal(t, remote.Counts{Total: 1, Added: 1}, c)

	acc := b.accounts(t)
	require.Len(t, acc, 3)
	require.Equal(t, account{ChannelID: b.gpt, Token: "example-gpt-token-1", Source: ptr("manual-gpt"), Provider: ptr("gpt"),
		Status: "active", Name: "Manual GPT"}, acc[0])
	require.Equal(t, account{ChannelID: b.grok, Token: "example-grok-token-1", Source: ptr("manual-grok"), Provider: ptr("grok"),
		Type: ptr("basic"), Metadata: ptr(`{"team": "ops"}`), Status: "active", Name: "Manual Grok"}, acc[2])

	// The pool changes an account's state; a merge that omits the state keeps it.
	_, err = b.pool.Exec(b.ctx, `UPDATE accounts SET status = 'disabled', success_count = 42, type = 'plus'
		WHERE credential_tail = $1`, secretbox.Tail("example-gpt-token-1"))
	require.NoError(t, err)
	c, err = b.svc.Inject(b.ctx, remote.Target{SourceID: "a1b2c3d4e5f6", SourceName: "Team GPT Source"},
		parse(t, `["example-gpt-token-1", "example-gpt-token-3"]`, "gpt"))
	require.NoError(t, err)
	require.Equal(t, remote.Counts{Total: 2, Added: 1, Skipped: 1}, c)
	acc = b.accounts(t)
	require.Equal(t, "disabled", acc[0].Status)
	require.EqualValues(t, 42, acc[0].Successes)
	require.Equal(t, ptr("plus"), acc[0].Type)
	require.Equal(t, ptr("manual-gpt"), acc[0].Source, "a merge does not move an account to another source")

	// State the payload gives is applied.
	c, err = b.svc.Inject(b.ctx, remote.Target{},
		parse(t, `{"accounts": [{"access_token": "example-gpt-token-1", "status": "active", "metadata": {"tier": "x"}}]}`, ""))
	require.NoError(t, err)
	require.Equal(t, remote.Counts{Total: 1, Skipped: 1}, c)
	acc = b.accounts(t)
	require.Equal(t, "active", acc[0].Status)
	require.Equal(t, ptr(`{"tier": "x"}`), acc[0].Metadata)
	require.EqualValues(t, 42, acc[0].Successes, "counters are never touched")
	require.Equal(t, ptr("plus"), acc[0].Type)

	// Every injection is in the history.
	jobs, err := b.q.ImportJobListBySource(b.ctx, b.pool, db.ImportJobListBySourceParams{SourceID: "manual-gpt", Lim: 10})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, "inject", jobs[0].Trigger)
	require.Equal(t, "success", jobs[0].Status)
	require.EqualValues(t, 2, jobs[0].Added)
}

func TestImportReplace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := remote.Target{SourceID: "a1b2c3d4e5f6", SourceName: "Team GPT Source", Strategy: "replace"}

	_, err := b.svc.Inject(b.ctx, remote.Target{SourceID: "other"}, parse(t, `["other-source-token"]`, ""))
	require.NoError(t, err)
	_, err = b.q.AccountCreate(b.ctx, b.pool, db.AccountCreateParams{ChannelID: b.gpt, CredentialEnc: b.box.Seal("hand-made-token"),
		CredentialTail: "****", Weight: 1, Status: "active"})
	require.NoError(t, err)
	c, err := b.svc.Inject(b.ctx, src, parse(t, `["example-existing-token", "example-old-token"]`, "gpt"))
	require.NoError(t, err)
	require.Equal(t, remote.Counts{Total: 2, Added: 2}, c)

	c, err = b.svc.Inject(b.ctx, src, parse(t, `["example-new-source-token", "example-existing-token", "other-source-token"]`, "gpt"))
	require.NoError(t, err)
	require.Equal(t, remote.Counts{Total: 3, Added: 1, Skipped: 2, Removed: 1}, c)
	require.ElementsMatch(t, []string{"other-source-token", "hand-made-token", "example-existing-token", "example-new-source-token"}, b.tokens(t),
		"only the source's own account missing from the payload is removed")

	_, err = b.svc.Inject(b.ctx, remote.Target{Strategy: "replace"}, parse(t, `["x-token"]`, ""))
	requireFault(t, err, fault.Invalid, "invalid_request", "replace requires source_id")
	_, err = b.svc.Inject(b.ctx, src, parse(t, `{"tokens": []}`, ""))
	requireFault(t, err, fault.Invalid, "invalid_request", "replace requires a non-empty account payload")
	_, err = b.svc.Inject(b.ctx, src, parse(t, `[""]`, ""))
	requireFault(t, err, fault.Invalid, "invalid_request", "replace requires a non-empty account payload")
	require.Len(t, b.tokens(t), 4, "refused replaces remove nothing")
}

func TestImportChannels(t *testing.T) {
	t.Parallel()
	b := setup(t)
	explicit := b.channel(t, "team-openai", "openai")
	claude := b.channel(t, "claude", "anthropic")

	c, err := b.svc.Inject(b.ctx, remote.Target{ChannelID: &explicit}, parse(t, `[{"token": "g1", "provider": "grok"}, "p1"]`, ""))
	require.NoError(t, err)
	require.Equal(t, 2, c.Added)
	for _, a := range b.accounts(t) {
		require.Equal(t, explicit, a.ChannelID, "channel_id wins over the per-provider default")
	}

	_, err = b.svc.Inject(b.ctx, remote.Target{ChannelID: &claude}, parse(t, `["p2"]`, ""))
	requireFault(t, err, fault.Unprocessable, "remote_channel_missing",
		fmt.Sprintf("channel %d has type anthropic; remote accounts join openai channels", claude))
	_, err = b.svc.Inject(b.ctx, remote.Target{ChannelID: ptr(int64(999))}, parse(t, `["p2"]`, ""))
	requireFault(t, err, fault.NotFound, "not_found", "channel not found")

	// A provider's default channel that is not OpenAI-type refuses the import, which writes nothing.
	_, err = b.pool.Exec(b.ctx, `UPDATE channels SET type = 'anthropic' WHERE name = 'remote-grok'`)
	require.NoError(t, err)
	_, err = b.svc.Inject(b.ctx, remote.Target{}, parse(t, `["p3", {"token": "g3", "provider": "grok"}]`, ""))
	requireFault(t, err, fault.Unprocessable, "remote_channel_missing",
		`channel "remote-grok" has type anthropic; remote accounts join openai channels`)
	require.Len(t, b.tokens(t), 2, "a refused import writes nothing")

	// A missing default channel is created: OpenAI-type, disabled, without base URL or models.
	_, err = b.pool.Exec(b.ctx, `DELETE FROM channels WHERE name = 'remote-grok'`)
	require.NoError(t, err)
	c, err = b.svc.Inject(b.ctx, remote.Target{}, parse(t, `["p3", {"token": "g3", "provider": "grok"}]`, ""))
	require.NoError(t, err)
	require.Equal(t, 2, c.Added)
	var typ, status, baseURL string
	var models []string
	var grokAccounts int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT type, status, base_url, models,
		(SELECT count(*) FROM accounts a WHERE a.channel_id = c.id) FROM channels c WHERE name = 'remote-grok'`).
		Scan(&typ, &status, &baseURL, &models, &grokAccounts))
	require.Equal(t, []any{"openai", "disabled", "", 0, 1}, []any{typ, status, baseURL, len(models), grokAccounts})
}

// TestImportCreatesChannelsOnce: concurrent imports into a fresh install create each provider's
// default channel once.
func TestImportCreatesChannelsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.pool.Exec(b.ctx, `DELETE FROM channels`)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, err := b.svc.Inject(b.ctx, remote.Target{}, parse(t, fmt.Sprintf(`["c%d", {"token": "cg%d", "provider": "grok"}]`, i, i), ""))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	var names []string
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT array_agg(name ORDER BY name) FROM channels`).Scan(&names))
	require.Equal(t, []string{"remote-gpt", "remote-grok"}, names)
	require.Len(t, b.tokens(t), 16)
}

// source is a remote account source served by an httptest server.
type source struct {
	srv     *httptest.Server
	hits    atomic.Int32
	mu      sync.Mutex
	body    string
	status  int
	headers http.Header
	method  string
	block   chan struct{} // when set, requests wait for it
	entered chan struct{}
}

func newSource(t testing.TB, body string) *source {
	t.Helper()
	s := &source{body: body, status: http.StatusOK}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.headers, s.method = r.Header.Clone(), r.Method
		body, status, block, entered := s.body, s.status, s.block, s.entered
		s.mu.Unlock()
		if block != nil {
			entered <- struct{}{}
			<-block
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *source) set(body string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

func (s *source) seen() (http.Header, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers, s.method
}

func (b *testBundle) source(t testing.TB, p db.RemoteSourceCreateParams) *db.RemoteSource {
	t.Helper()
	p.ID = remote.NewSourceID()
	if p.Method == "" {
		p.Method = "GET"
	}
	if p.SyncStrategy == "" {
		p.SyncStrategy = "merge"
	}
	p.Enabled = true
	src, err := b.q.RemoteSourceCreate(b.ctx, b.pool, p)
	require.NoError(t, err)
	return src
}

func TestSync(t *testing.T) {
	t.Parallel()
	b := setup(t)
	up := newSource(t, `{"tokens": ["example-token-1", "example-token-2"]}`)

	bearer := b.source(t, db.RemoteSourceCreateParams{Name: "Protected", URL: up.srv.URL + "/protected.json?k=v",
		BearerTokenEnc: b.box.Seal("example-upstream-bearer-token"), Provider: "gpt"})
	job, src, err := b.svc.Sync(b.ctx, bearer.ID, remote.TriggerManual)
	require.NoError(t, err)
	require.Equal(t, "success", job.Status)
	require.Equal(t, [5]int32{2, 2, 0, 0, 0}, [5]int32{job.Total, job.Added, job.Skipped, job.Removed, job.Failed})
	require.Equal(t, []string{}, job.Errors)
	require.True(t, b.clock.Now().Equal(job.CreatedAt), "the injected clock stamps jobs")
	require.Equal(t, &job.ID, src.LastJobID)
	require.True(t, job.UpdatedAt.Equal(*src.LastSyncAt))
	h, method := up.seen()
	require.Equal(t, "GET", method)
	require.Equal(t, "Bearer example-upstream-bearer-token", h.Get("Authorization"))

	// A custom header, POST, the accounts wrapper, per-account providers over the source's.
	up.set(`{"accounts": [{"access_token": "example-token-3", "provider": "gpt", "type": "plus"},
		{"token": "example-token-4", "provider": "grok", "type": "basic"}, {"token": "example-token-5"}]}`, http.StatusOK)
	header := b.source(t, db.RemoteSourceCreateParams{Name: "Header", URL: up.srv.URL, Method: "POST", AuthHeader: "X-Remote-Account-Key",
		AuthTokenEnc: b.box.Seal("example-upstream-header-token"), Provider: "grok", SyncStrategy: "replace"})
	job, _, err = b.svc.Sync(b.ctx, header.ID, remote.TriggerManual)
	require.NoError(t, err)
	require.Equal(t, [5]int32{3, 3, 0, 0, 0}, [5]int32{job.Total, job.Added, job.Skipped, job.Removed, job.Failed})
	h, method = up.seen()
	require.Equal(t, "POST", method)
	require.Equal(t, "example-upstream-header-token", h.Get("X-Remote-Account-Key"))
	require.Empty(t, h.Get("Authorization"))
	byToken := map[string]account{}
	for _, a := range b.accounts(t) {
		byToken[a.Token] = a
	}
	require.Equal(t, b.gpt, byToken["example-token-3"].ChannelID)
	require.Equal(t, b.grok, byToken["example-token-4"].ChannelID)
	require.Equal(t, b.grok, byToken["example-token-5"].ChannelID, "the source's provider is the default")

	// A bare array, no auth; replace removes what the source no longer lists.
	up.set(`["example-token-5", {"access_token": "example-token-6", "provider": "gpt"}, {"nope": 1}]`, http.StatusOK)
	job, _, err = b.svc.Sync(b.ctx, header.ID, remote.TriggerManual)
	require.NoError(t, err)
	require.Equal(t, "success", job.Status)
	require.Equal(t, [5]int32{3, 1, 1, 2, 1}, [5]int32{job.Total, job.Added, job.Skipped, job.Removed, job.Failed})
	require.Equal(t, []string{"[2]: no access_token or token"}, job.Errors)
	require.ElementsMatch(t, []string{"example-token-1", "example-token-2", "example-token-5", "example-token-6"}, b.tokens(t))

	plain := b.source(t, db.RemoteSourceCreateParams{Name: "Plain", URL: up.srv.URL})
	_, _, err = b.svc.Sync(b.ctx, plain.ID, remote.TriggerManual)
	require.NoError(t, err)
	h, _ = up.seen()
	require.Empty(t, h.Get("Authorization"))
	require.Empty(t, h.Get("X-Remote-Account-Key"))
}

func TestSyncFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const secret = "example-upstream-bearer-token"
	up := newSource(t, `{"error": "leaked-body-text"}`)
	up.set(`{"error": "leaked-body-text"}`, http.StatusServiceUnavailable)
	src := b.source(t, db.RemoteSourceCreateParams{Name: "S", URL: up.srv.URL + "/p?key=leaked-query", BearerTokenEnc: b.box.Seal(secret)})

	failed := func(reason string) *db.ImportJob {
		t.Helper()
		job, _, err := b.svc.Sync(b.ctx, src.ID, remote.TriggerManual)
		requireFault(t, err, fault.Upstream, "remote_sync_failed", "remote account sync failed")
		require.NotContains(t, err.Error(), "leaked")
		require.NotContains(t, err.Error(), "127.0.0.1")
		require.NotContains(t, err.Error(), secret)
		require.Equal(t, "failed", job.Status)
		require.Equal(t, reason, job.Errors[0])
		for _, e := range job.Errors {
			require.NotContains(t, e, "leaked")
			require.NotContains(t, e, "127.0.0.1")
		}
		return job
	}
	failed("fetch: the source answered HTTP 503")
	up.set(`<html>leaked-body-text</html>`, http.StatusOK)
	failed("payload: not a tokens wrapper, an accounts wrapper or an array")
	up.set(`{"tokens": ["leaked-token" `, http.StatusOK)
	failed("payload: not a tokens wrapper, an accounts wrapper or an array: invalid JSON at offset 26")
	up.set(`[]`, http.StatusOK)
	_, err := b.pool.Exec(b.ctx, `UPDATE remote_sources SET sync_strategy = 'replace' WHERE id = $1`, src.ID)
	require.NoError(t, err)
	failed("import: replace requires a non-empty account payload")
	up.set(`[{"token": "leaked-token", "provider": "grok"}]`, http.StatusOK)
	_, err = b.pool.Exec(b.ctx, `UPDATE channels SET type = 'gemini' WHERE name = 'remote-grok'`)
	require.NoError(t, err)
	job := failed(`import: channel "remote-grok" has type gemini; remote accounts join openai channels`)
	require.EqualValues(t, 1, job.Total)

	// The private-address guard: a strict instance refuses the loopback source at connect time.
	hits := up.hits.Load()
	strict := b.service(t, "")
	_, _, err = strict.Sync(b.ctx, src.ID, remote.TriggerManual)
	requireFault(t, err, fault.Upstream, "remote_sync_failed", "remote account sync failed")
	jobs, err := b.q.ImportJobListBySource(b.ctx, b.pool, db.ImportJobListBySourceParams{SourceID: src.ID, Lim: 1})
	require.NoError(t, err)
	require.Equal(t, []string{"fetch: the source's address is not allowed (loopback, private or link-local; see ALLOW_PRIVATE_OUTBOUND)"}, jobs[0].Errors)
	require.Equal(t, hits, up.hits.Load(), "the source was never called")

	got, err := b.q.RemoteSourceGet(b.ctx, b.pool, src.ID)
	require.NoError(t, err)
	require.Nil(t, got.LastSyncAt, "last_sync_at marks successful syncs only")
	require.Equal(t, &jobs[0].ID, got.LastJobID)
	require.Empty(t, b.tokens(t))

	_, err = b.pool.Exec(b.ctx, `UPDATE remote_sources SET enabled = false WHERE id = $1`, src.ID)
	require.NoError(t, err)
	_, _, err = b.svc.Sync(b.ctx, src.ID, remote.TriggerManual)
	requireFault(t, err, fault.Invalid, "source_disabled", "source is disabled")
	_, _, err = b.svc.Sync(b.ctx, "000000000000", remote.TriggerManual)
	requireFault(t, err, fault.NotFound, "not_found", "source not found")
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	up := newSource(t, `{"tokens": ["scheduled-token"]}`)
	hourly := b.source(t, db.RemoteSourceCreateParams{Name: "Hourly", URL: up.srv.URL, IntervalSeconds: ptr(int32(3600))})
	b.source(t, db.RemoteSourceCreateParams{Name: "Manual only", URL: up.srv.URL})
	off := b.source(t, db.RemoteSourceCreateParams{Name: "Disabled", URL: up.srv.URL, IntervalSeconds: ptr(int32(60))})
	_, err := b.pool.Exec(b.ctx, `UPDATE remote_sources SET enabled = false WHERE id = $1`, off.ID)
	require.NoError(t, err)

	tick := func() int {
		t.Helper()
		n, ran, err := b.svc.Tick(b.ctx)
		require.NoError(t, err)
		require.True(t, ran)
		return n
	}
	require.Equal(t, 1, tick(), "a new scheduled source is synced at once")
	require.EqualValues(t, 1, up.hits.Load())
	require.Equal(t, 0, tick())
	b.clock.Add(59 * time.Minute)
	require.Equal(t, 0, tick())
	b.clock.Add(time.Minute)
	require.Equal(t, 1, tick(), "due after one interval")
	require.EqualValues(t, 2, up.hits.Load())

	jobs, err := b.q.ImportJobListBySource(b.ctx, b.pool, db.ImportJobListBySourceParams{SourceID: hourly.ID, Lim: 10})
	require.NoError(t, err)
	require.Len(t, jobs, 2, "the job history is kept")
	require.Equal(t, "schedule", jobs[0].Trigger)
	require.EqualValues(t, 1, jobs[0].Skipped)
	require.EqualValues(t, 1, jobs[1].Added)

	// A failing source is retried at the next interval, not at every tick.
	up.set(`oops`, http.StatusBadGateway)
	b.clock.Add(time.Hour)
	require.Equal(t, 0, tick())
	require.Equal(t, 0, tick())
	require.EqualValues(t, 3, up.hits.Load())
}

// TestScheduleOneInstance runs two instances' schedulers at the same moment: only one syncs.
func TestScheduleOneInstance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	up := newSource(t, `{"tokens": ["scheduled-token"]}`)
	release := make(chan struct{})
	up.block, up.entered = release, make(chan struct{}, 1)
	b.source(t, db.RemoteSourceCreateParams{Name: "Hourly", URL: up.srv.URL, IntervalSeconds: ptr(int32(3600))})
	other := b.service(t, "127.0.0.0/8")

	type result struct {
		n   int
		ran bool
		err error
	}
	first := make(chan result, 1)
	go func() {
		n, ran, err := b.svc.Tick(b.ctx)
		first <- result{n, ran, err}
	}()
	<-up.entered // the first instance holds the lock, mid-sync

	n, ran, err := other.Tick(b.ctx)
	require.NoError(t, err)
	require.False(t, ran, "the second instance does not run while the first does")
	require.Zero(t, n)
	close(release)
	r := <-first
	require.NoError(t, r.err)
	require.True(t, r.ran)
	require.Equal(t, 1, r.n)

	// Once the first is done, the second may run, and finds nothing due.
	n, ran, err = other.Tick(b.ctx)
	require.NoError(t, err)
	require.True(t, ran)
	require.Zero(t, n)
	require.EqualValues(t, 1, up.hits.Load())
}

// TestSync10k measures a sync of 10,000 tokens end to end (fetch, parse, seal, write) and a
// second, merging sync of the same tokens.
func TestSync10k(t *testing.T) {
	t.Parallel()
	b := setup(t)
	toks := make([]string, 10_000)
	for i := range toks {
		toks[i] = fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.bulk-account-token-%06d.%s", i, strings.Repeat("x", 600))
	}
	body, err := json.Marshal(map[string]any{"tokens": toks})
	require.NoError(t, err)
	up := newSource(t, string(body))
	src := b.source(t, db.RemoteSourceCreateParams{Name: "Bulk", URL: up.srv.URL, SyncStrategy: "replace"})

	start := time.Now()
	job, _, err := b.svc.Sync(b.ctx, src.ID, remote.TriggerManual)
	first := time.Since(start)
	require.NoError(t, err)
	require.EqualValues(t, 10_000, job.Added)

	start = time.Now()
	job, _, err = b.svc.Sync(b.ctx, src.ID, remote.TriggerManual)
	second := time.Since(start)
	require.NoError(t, err)
	require.EqualValues(t, 10_000, job.Skipped)
	t.Logf("sync of 10,000 tokens (%d KiB payload): first %v (all added), second %v (all merged)", len(body)>>10, first, second)

	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM accounts WHERE remote_source_id = $1`, src.ID).Scan(&n))
	require.Equal(t, 10_000, n)
}

// BenchmarkSync10k measures the worst case of a scheduled replace sync of 10,000 tokens: each
// run adds 10,000 new accounts and removes the 10,000 of the run before.
func BenchmarkSync10k(b *testing.B) {
	tb := setup(b)
	up := newSource(b, "")
	src := tb.source(b, db.RemoteSourceCreateParams{Name: "Bulk", URL: up.srv.URL, SyncStrategy: "replace"})
	bodies := [2]string{}
	for k := range bodies {
		toks := make([]string, 10_000)
		for i := range toks {
			toks[i] = fmt.Sprintf("bench-%d-token-%06d-%s", k, i, strings.Repeat("x", 600))
		}
		body, err := json.Marshal(map[string]any{"tokens": toks})
		require.NoError(b, err)
		bodies[k] = string(body)
	}
	b.ResetTimer()
	for i := range b.N {
		up.set(bodies[i%2], http.StatusOK)
		job, _, err := tb.svc.Sync(tb.ctx, src.ID, remote.TriggerManual)
		require.NoError(b, err)
		require.EqualValues(b, 10_000, job.Added)
	}
}
