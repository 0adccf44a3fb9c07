package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
)

// remoteBundle is an app that may call sources on 127.0.0.0/8 (ALLOW_PRIVATE_OUTBOUND), with the
// default channels of both providers.
type remoteBundle struct {
	*testBundle
	gpt, grok int64
}

func remoteSetup(t *testing.T, opts ...apptest.Option) *remoteBundle {
	t.Helper()
	opts = append([]apptest.Option{apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.0/8" })}, opts...)
	env := apptest.New(t, opts...)
	raw, err := adminclient.NewClientWithResponses(env.URL, adminclient.WithHTTPClient(env.RawHTTP),
		adminclient.WithRequestEditorFn(apptest.Bearer(env.AdminToken)))
	require.NoError(t, err)
	b := &remoteBundle{testBundle: &testBundle{env: env, admin: env.Admin(), raw: raw, ctx: context.Background()}}
	b.gpt = env.Channel("remote-gpt", []string{"gpt-4o-mini"})
	b.grok = env.Channel("remote-grok", []string{"grok-3"})
	return b
}

// call sends a raw JSON request as the administrator (or with token), checked against the spec,
// and returns the status and body.
func (b *remoteBundle) call(t *testing.T, method, path, reqBody string, token ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if reqBody != "" {
		rd = strings.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(b.ctx, method, b.env.URL+path, rd)
	require.NoError(t, err)
	if reqBody != "" {
		req.Header.Set("Content-Type", jsonType)
	}
	tok := b.env.AdminToken
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := b.env.HTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, out
}

var (
	sourceIDPattern = regexp.MustCompile(`^[0-9a-f]{12}$`)
	jobIDPattern    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	timePattern     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$`)
)

// normalise replaces ids and times by their format, so a response compares field by field with
// the seed's example: a value of the right format becomes a placeholder, anything else stays.
func normalise(t *testing.T, doc []byte, urls map[string]string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v), string(doc))
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(k, e)
			}
			return x
		case []any:
			for i, e := range x {
				x[i] = walk(key, e)
			}
			return x
		case string:
			switch {
			case (key == "id" || key == "source_id") && sourceIDPattern.MatchString(x):
				return "<source-id>"
			case key == "job_id" && jobIDPattern.MatchString(x):
				return "<job-id>"
			case (key == "created_at" || key == "updated_at" || key == "last_sync_at") && timePattern.MatchString(x):
				return "<time>"
			case key == "url" && urls[x] != "":
				return urls[x]
			}
		}
		return v
	}
	return walk("", v)
}

// requireSeed compares a response with the seed's example, ids and times by format.
func requireSeed(t *testing.T, seed string, got []byte, urls map[string]string) {
	t.Helper()
	require.Equal(t, normalise(t, []byte(seed), urls), normalise(t, got, urls), string(got))
}

// requireExact compares a response with the expected body byte for byte, as JSON.
func requireExact(t *testing.T, want string, got []byte) {
	t.Helper()
	require.JSONEq(t, want, string(got))
}

// payloadServer is a remote account source: it serves body, and records what it was asked.
type payloadServer struct {
	srv    *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	body   string
	status int
	header http.Header
	method string
}

func newPayloadServer(t *testing.T, body string) *payloadServer {
	t.Helper()
	p := &payloadServer{body: body, status: http.StatusOK}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		p.header, p.method = r.Header.Clone(), r.Method
		body, status := p.body, p.status
		p.mu.Unlock()
		w.Header().Set("Content-Type", jsonType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *payloadServer) set(body string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.body, p.status = body, status
}

func (p *payloadServer) seen() (http.Header, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.header, p.method
}

func sourceID(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Source struct {
			ID string `json:"id"`
		} `json:"source"`
	}
	require.NoError(t, json.Unmarshal(body, &r), string(body))
	require.Regexp(t, sourceIDPattern, r.Source.ID)
	return r.Source.ID
}

// The seed's request and response bodies, verbatim.
const (
	seedCreateReq = `{
"name": "Team GPT Source",
"url": "https://accounts.example.test/webchat2api.json",
"method": "GET",
"provider": "gpt",
"sync_strategy": "merge",
"interval_seconds": 3600
}`
	seedCreateRes = `{
"source": {"id": "a1b2c3d4e5f6", "name": "Team GPT Source", "enabled": true,
"url": "https://accounts.example.test/webchat2api.json", "method": "GET", "auth_header": "", "provider": "gpt",
"sync_strategy": "merge", "interval_seconds": 3600, "last_sync_at": "", "import_job": null,
"has_auth_token": false, "has_bearer_token": false},
"sources": [{"id": "a1b2c3d4e5f6", "name": "Team GPT Source", "enabled": true,
"url": "https://accounts.example.test/webchat2api.json", "method": "GET", "auth_header": "", "provider": "gpt",
"sync_strategy": "merge", "interval_seconds": 3600, "last_sync_at": "", "import_job": null,
"has_auth_token": false, "has_bearer_token": false}]
}`
	seedBearerReq = `{
"name": "Protected GPT Source",
"url": "https://accounts.example.test/protected.json",
"method": "GET",
"bearer_token": "example-upstream-bearer-token",
"provider": "gpt",
"sync_strategy": "merge"
}`
	seedBearerSource = `{"id": "b1c2d3e4f5a6", "name": "Protected GPT Source", "enabled": true,
"url": "https://accounts.example.test/protected.json", "method": "GET", "auth_header": "", "provider": "gpt",
"sync_strategy": "merge", "interval_seconds": null, "last_sync_at": "", "import_job": null,
"has_auth_token": false, "has_bearer_token": true}`
	seedHeaderReq = `{
"name": "Header Protected Grok Source",
"url": "https://accounts.example.test/grok.json",
"method": "POST",
"auth_header": "X-Remote-Account-Key",
"auth_token": "example-upstream-header-token",
"provider": "grok",
"sync_strategy": "replace"
}`
	seedHeaderSource = `{"id": "c1d2e3f4a5b6", "name": "Header Protected Grok Source", "enabled": true,
"url": "https://accounts.example.test/grok.json", "method": "POST", "auth_header": "X-Remote-Account-Key",
"provider": "grok", "sync_strategy": "replace", "interval_seconds": null, "last_sync_at": "", "import_job": null,
"has_auth_token": true, "has_bearer_token": false}`
	seedUpdateReq = `{
"enabled": false,
"sync_strategy": "replace",
"provider": "gpt"
}`
	seedUpdateSource = `{"id": "a1b2c3d4e5f6", "name": "Team GPT Source", "enabled": false,
"url": "https://accounts.example.test/webchat2api.json", "method": "GET", "auth_header": "", "provider": "gpt",
"sync_strategy": "replace", "interval_seconds": 3600, "last_sync_at": "", "import_job": null,
"has_auth_token": false, "has_bearer_token": false}`
	seedJob = `{"job_id": "9999aaaabbbbccccddddeeeeffff0000", "status": "success",
"created_at": "2026-05-23T10:20:00+00:00", "updated_at": "2026-05-23T10:20:01+00:00",
"source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source", "strategy": "merge",
"total": 2, "added": 1, "skipped": 1, "removed": 0, "failed": 0, "errors": []}`
	seedSyncedSource = `{"id": "a1b2c3d4e5f6", "name": "Team GPT Source", "enabled": true,
"url": "https://accounts.example.test/webchat2api.json", "method": "GET", "auth_header": "", "provider": "gpt",
"sync_strategy": "merge", "interval_seconds": 3600, "last_sync_at": "2026-05-23T10:20:01+00:00",
"import_job": ` + seedJob + `, "has_auth_token": false, "has_bearer_token": false}`
	seedSyncRes     = `{"import_job": ` + seedJob + `, "source": ` + seedSyncedSource + `}`
	seedSyncGetRes  = `{"import_job": ` + seedJob + `}`
	seedListRes     = `{"sources": [` + seedSyncedSource + `]}`
	seedDeleteRes   = `{"sources": []}`
	seedTokensReq   = `{"tokens": ["example-gpt-token-1", "example-gpt-token-2"], "strategy": "merge", "source_id": "manual-gpt", "source_name": "Manual GPT", "provider": "gpt"}`
	seedTokensRes   = `{"strategy": "merge", "source_id": "manual-gpt", "source_name": "Manual GPT", "total": 2, "added": 2, "skipped": 0, "removed": 0}`
	seedGPTAccReq   = `{"accounts": [{"access_token": "example-gpt-token-3", "provider": "gpt", "type": "plus"}], "strategy": "merge", "source_id": "manual-gpt", "source_name": "Manual GPT", "provider": "gpt"}`
	seedGPTAccRes   = `{"strategy": "merge", "source_id": "manual-gpt", "source_name": "Manual GPT", "total": 1, "added": 1, "skipped": 0, "removed": 0}`
	seedGrokAccReq  = `{"accounts": [{"token": "example-grok-token-1", "provider": "grok", "type": "basic", "metadata": {"team": "ops"}}], "strategy": "merge", "source_id": "manual-grok", "source_name": "Manual Grok", "provider": "grok"}`
	seedGrokAccRes  = `{"strategy": "merge", "source_id": "manual-grok", "source_name": "Manual Grok", "total": 1, "added": 1, "skipped": 0, "removed": 0}`
	seedMergeReq    = `{"accounts": [{"access_token": "example-existing-token", "provider": "gpt", "type": "plus"}], "strategy": "merge", "source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source", "provider": "gpt"}`
	seedMergeRes    = `{"strategy": "merge", "source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source", "total": 1, "added": 0, "skipped": 1, "removed": 0}`
	seedReplaceReq  = `{"tokens": ["example-new-source-token"], "strategy": "replace", "source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source", "provider": "gpt"}`
	seedReplaceRes  = `{"strategy": "replace", "source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source", "total": 1, "added": 1, "skipped": 0, "removed": 1}`
	sourcesPath     = "/api/remote-account/sources"
	injectPath      = "/api/remote-account/inject"
	seedUnavailable = "https://accounts.example.test/webchat2api.json"
)

// TestRemoteSeedSources replays the seed's source examples: create (three kinds), update, sync,
// read the sync, list and delete, each response compared field by field with the seed's.
func TestRemoteSeedSources(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t)

	status, res := b.call(t, http.MethodGet, sourcesPath, "")
	require.Equal(t, http.StatusOK, status)
	requireExact(t, seedDeleteRes, res)

	status, res = b.call(t, http.MethodPost, sourcesPath, seedCreateReq)
	require.Equal(t, http.StatusOK, status, string(res))
	requireSeed(t, seedCreateRes, res, nil)
	team := sourceID(t, res)

	status, res = b.call(t, http.MethodPost, sourcesPath, seedBearerReq)
	require.Equal(t, http.StatusOK, status, string(res))
	require.NotContains(t, string(res), "example-upstream-bearer-token")
	var saved struct {
		Source  json.RawMessage   `json:"source"`
		Sources []json.RawMessage `json:"sources"`
	}
	require.NoError(t, json.Unmarshal(res, &saved))
	requireSeed(t, seedBearerSource, saved.Source, nil)
	require.Len(t, saved.Sources, 2)
	requireSeed(t, seedBearerSource, saved.Sources[1], nil)
	bearer := sourceID(t, res)

	status, res = b.call(t, http.MethodPost, sourcesPath, seedHeaderReq)
	require.Equal(t, http.StatusOK, status, string(res))
	require.NotContains(t, string(res), "example-upstream-header-token")
	require.NoError(t, json.Unmarshal(res, &saved))
	requireSeed(t, seedHeaderSource, saved.Source, nil)
	require.Len(t, saved.Sources, 3)
	requireSeed(t, seedHeaderSource, saved.Sources[2], nil)
	header := sourceID(t, res)
	require.NotEqual(t, team, bearer)
	require.NotEqual(t, bearer, header)

	// Secrets are sealed at rest.
	var bearerEnc, authEnc []byte
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, `SELECT bearer_token_enc FROM remote_sources WHERE id = $1`, bearer).Scan(&bearerEnc))
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, `SELECT auth_token_enc FROM remote_sources WHERE id = $1`, header).Scan(&authEnc))
	require.NotContains(t, string(bearerEnc), "example-upstream")
	opened, err := b.env.App.Box.Open(authEnc)
	require.NoError(t, err)
	require.Equal(t, "example-upstream-header-token", opened)

	status, res = b.call(t, http.MethodPost, sourcesPath+"/"+team, seedUpdateReq)
	require.Equal(t, http.StatusOK, status, string(res))
	require.NoError(t, json.Unmarshal(res, &saved))
	requireSeed(t, seedUpdateSource, saved.Source, nil)
	requireSeed(t, seedUpdateSource, saved.Sources[0], nil)

	// Null fields count as absent; present ones change.
	status, res = b.call(t, http.MethodPost, sourcesPath+"/"+team, `{"enabled": true, "sync_strategy": null, "name": null,
		"interval_seconds": null, "url": null, "bearer_token": null}`)
	require.Equal(t, http.StatusOK, status, string(res))
	require.NoError(t, json.Unmarshal(res, &saved))
	requireSeed(t, strings.Replace(seedUpdateSource, `"enabled": false`, `"enabled": true`, 1), saved.Source, nil)

	// Deleting answers with the sources left.
	for _, id := range []string{bearer, header} {
		status, res = b.call(t, http.MethodDelete, sourcesPath+"/"+id, "")
		require.Equal(t, http.StatusOK, status, string(res))
	}
	requireSeed(t, `{"sources": [`+strings.Replace(seedUpdateSource, `"enabled": false`, `"enabled": true`, 1)+`]}`, res, nil)
	status, res = b.call(t, http.MethodDelete, sourcesPath+"/"+team, "")
	require.Equal(t, http.StatusOK, status, string(res))
	requireExact(t, seedDeleteRes, res)
}

// TestRemoteSeedSync replays the seed's sync examples against a real source: two tokens, one
// already in the pool (added 1, skipped 1).
func TestRemoteSeedSync(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t)
	up := newPayloadServer(t, `{"tokens": ["example-token-1", "example-token-2"]}`)
	urls := map[string]string{up.srv.URL + "/webchat2api.json": seedUnavailable}

	status, res := b.call(t, http.MethodPost, injectPath, `{"tokens": ["example-token-1"]}`)
	require.Equal(t, http.StatusOK, status, string(res))
	status, res = b.call(t, http.MethodPost, sourcesPath, strings.Replace(seedCreateReq, seedUnavailable, up.srv.URL+"/webchat2api.json", 1))
	require.Equal(t, http.StatusOK, status, string(res))
	id := sourceID(t, res)

	status, res = b.call(t, http.MethodGet, sourcesPath+"/"+id+"/sync", "")
	require.Equal(t, http.StatusOK, status, string(res))
	requireExact(t, `{"import_job": null}`, res)

	status, res = b.call(t, http.MethodPost, sourcesPath+"/"+id+"/sync", "")
	require.Equal(t, http.StatusOK, status, string(res))
	requireSeed(t, seedSyncRes, res, urls)
	require.NotContains(t, string(res), "example-token")
	var sync struct {
		ImportJob struct {
			UpdatedAt string `json:"updated_at"`
		} `json:"import_job"`
		Source struct {
			LastSyncAt string `json:"last_sync_at"`
		} `json:"source"`
	}
	require.NoError(t, json.Unmarshal(res, &sync))
	require.Equal(t, sync.ImportJob.UpdatedAt, sync.Source.LastSyncAt)

	status, res = b.call(t, http.MethodGet, sourcesPath+"/"+id+"/sync", "")
	require.Equal(t, http.StatusOK, status, string(res))
	requireSeed(t, seedSyncGetRes, res, urls)

	status, res = b.call(t, http.MethodGet, sourcesPath, "")
	require.Equal(t, http.StatusOK, status, string(res))
	requireSeed(t, seedListRes, res, urls)

	// The accounts joined the gpt channel, sealed, owned by the source.
	list, err := b.admin.AccountListWithResponse(b.ctx, b.gpt)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 2)
	var owned int
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, `SELECT count(*) FROM accounts WHERE remote_source_id = $1`, id).Scan(&owned))
	require.Equal(t, 1, owned, "the token injected first keeps its owner")

	// History: every sync is kept.
	status, _ = b.call(t, http.MethodPost, sourcesPath+"/"+id+"/sync", "")
	require.Equal(t, http.StatusOK, status)
	jobs, err := b.admin.RemoteSourceJobListWithResponse(b.ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, jobs.StatusCode(), string(jobs.Body))
	require.Len(t, jobs.JSON200.ImportJobs, 2)
	require.Equal(t, 2, jobs.JSON200.ImportJobs[0].Skipped, "newest first")
	require.Equal(t, 1, jobs.JSON200.ImportJobs[1].Added)
}

// TestRemoteSeedInject replays the seed's injection examples in order.
func TestRemoteSeedInject(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t)

	for _, step := range []struct{ req, res string }{
		{seedTokensReq, seedTokensRes},
		{seedGPTAccReq, seedGPTAccRes},
		{seedGrokAccReq, seedGrokAccRes},
		// The seed's merge example finds its token already in the source.
		{`{"tokens": ["example-existing-token"], "source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source"}`,
			`{"strategy": "merge", "source_id": "a1b2c3d4e5f6", "source_name": "Team GPT Source", "total": 1, "added": 1, "skipped": 0, "removed": 0}`},
		{seedMergeReq, seedMergeRes},
		{seedReplaceReq, seedReplaceRes},
	} {
		status, res := b.call(t, http.MethodPost, injectPath, step.req)
		require.Equal(t, http.StatusOK, status, string(res))
		requireExact(t, step.res, res)
	}

	gpt, err := b.admin.AccountListWithResponse(b.ctx, b.gpt)
	require.NoError(t, err)
	require.Len(t, gpt.JSON200.Items, 4, "tokens 1-3 and the new source token; the replaced one is gone")
	grok, err := b.admin.AccountListWithResponse(b.ctx, b.grok)
	require.NoError(t, err)
	require.Len(t, grok.JSON200.Items, 1)
	require.NotContains(t, string(grok.Body), "example-grok-token-1")
	var typ, meta string
	require.NoError(t, b.env.App.Pool.QueryRow(b.ctx, `SELECT type, metadata->>'team' FROM accounts WHERE channel_id = $1`, b.grok).Scan(&typ, &meta))
	require.Equal(t, "basic", typ)
	require.Equal(t, "ops", meta)

	// An account changed by the pool keeps its state through a merge that omits it.
	acc := gpt.JSON200.Items[0]
	up, err := b.admin.AccountUpdateWithResponse(b.ctx, b.gpt, acc.Id, adminclient.AccountUpdate{Status: ptr(adminclient.ActiveStatusDisabled), Weight: ptr(7)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	status, res := b.call(t, http.MethodPost, injectPath, seedTokensReq)
	require.Equal(t, http.StatusOK, status)
	requireExact(t, `{"strategy": "merge", "source_id": "manual-gpt", "source_name": "Manual GPT", "total": 2, "added": 0, "skipped": 2, "removed": 0}`, res)
	gpt, err = b.admin.AccountListWithResponse(b.ctx, b.gpt)
	require.NoError(t, err)
	require.Equal(t, adminclient.AccountStatusDisabled, gpt.JSON200.Items[0].Status)
	require.Equal(t, 7, gpt.JSON200.Items[0].Weight)

	// A payload of any source shape is accepted, and the channel may be named.
	other := b.env.Channel("team-openai", []string{"gpt-4o-mini"})
	status, res = b.call(t, http.MethodPost, injectPath, `{"payload": ["p-1", {"access_token": "p-2", "provider": "grok"}, {"x": 1}],
		"channel_id": `+itoa(other)+`}`)
	require.Equal(t, http.StatusOK, status, string(res))
	requireExact(t, `{"strategy": "merge", "source_id": "", "source_name": "", "total": 3, "added": 2, "skipped": 0, "removed": 0}`, res)
	list, err := b.admin.AccountListWithResponse(b.ctx, other)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 2)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestRemoteErrors checks every error body of the seed, exactly (with Poolgate's code beside).
func TestRemoteErrors(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t)
	up := newPayloadServer(t, `{"error": "upstream-secret-body"}`)
	up.set(`{"error": "upstream-secret-body"}`, http.StatusInternalServerError)

	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"CreateWithoutURL", http.MethodPost, sourcesPath, `{"name": "x"}`, http.StatusBadRequest,
			`{"detail": {"error": "url is required", "code": "invalid_request"}}`},
		{"CreateWithEmptyURL", http.MethodPost, sourcesPath, `{"url": "  "}`, http.StatusBadRequest,
			`{"detail": {"error": "url is required", "code": "invalid_request"}}`},
		{"InjectWithoutPayload", http.MethodPost, injectPath, `{"strategy": "merge", "source_id": "x"}`, http.StatusBadRequest,
			`{"detail": {"error": "payload, accounts, or tokens is required", "code": "invalid_request"}}`},
		{"ReplaceWithoutSource", http.MethodPost, injectPath, `{"tokens": ["a-token"], "strategy": "replace"}`, http.StatusBadRequest,
			`{"detail": {"error": "replace requires source_id", "code": "invalid_request"}}`},
		{"ReplaceEmpty", http.MethodPost, injectPath, `{"tokens": [], "strategy": "replace", "source_id": "a1b2c3d4e5f6"}`, http.StatusBadRequest,
			`{"detail": {"error": "replace requires a non-empty account payload", "code": "invalid_request"}}`},
		{"UpdateUnknown", http.MethodPost, sourcesPath + "/a1b2c3d4e5f6", `{"enabled": true}`, http.StatusNotFound,
			`{"detail": {"error": "source not found", "code": "not_found"}}`},
		{"DeleteUnknown", http.MethodDelete, sourcesPath + "/a1b2c3d4e5f6", "", http.StatusNotFound,
			`{"detail": {"error": "source not found", "code": "not_found"}}`},
		{"SyncUnknown", http.MethodPost, sourcesPath + "/a1b2c3d4e5f6/sync", "", http.StatusNotFound,
			`{"detail": {"error": "source not found", "code": "not_found"}}`},
		{"SyncStatusUnknown", http.MethodGet, sourcesPath + "/a1b2c3d4e5f6/sync", "", http.StatusNotFound,
			`{"detail": {"error": "source not found", "code": "not_found"}}`},
		{"PrivateURL", http.MethodPost, sourcesPath, `{"url": "http://169.254.169.254/latest/meta-data"}`, http.StatusBadRequest,
			`{"detail": {"error": "url must not resolve to a loopback, private or link-local address (see ALLOW_PRIVATE_OUTBOUND)", "code": "address_not_allowed"}}`},
		{"NotHTTP", http.MethodPost, sourcesPath, `{"url": "file:///etc/passwd"}`, http.StatusBadRequest,
			`{"detail": {"error": "url must be an absolute http or https URL", "code": "invalid_request"}}`},
		{"ChannelMissing", http.MethodPost, injectPath, `{"tokens": ["a-token"], "provider": "grok", "channel_id": 999}`, http.StatusNotFound,
			`{"detail": {"error": "channel not found", "code": "not_found"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, res := b.call(t, c.method, c.path, c.body)
			require.Equal(t, c.status, status, string(res))
			requireExact(t, c.want, res)
		})
	}

	t.Run("Disabled", func(t *testing.T) {
		status, res := b.call(t, http.MethodPost, sourcesPath, `{"url": "`+up.srv.URL+`", "enabled": false}`)
		require.Equal(t, http.StatusOK, status, string(res))
		status, res = b.call(t, http.MethodPost, sourcesPath+"/"+sourceID(t, res)+"/sync", "")
		require.Equal(t, http.StatusBadRequest, status)
		requireExact(t, `{"detail": {"error": "source is disabled", "code": "source_disabled"}}`, res)
	})

	t.Run("SyncFailed", func(t *testing.T) {
		status, res := b.call(t, http.MethodPost, sourcesPath, `{"url": "`+up.srv.URL+`/accounts?key=query-secret",
			"bearer_token": "bearer-secret", "name": "Failing"}`)
		require.Equal(t, http.StatusOK, status, string(res))
		id := sourceID(t, res)
		status, res = b.call(t, http.MethodPost, sourcesPath+"/"+id+"/sync", "")
		require.Equal(t, http.StatusBadGateway, status)
		var e struct {
			Detail map[string]string `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(res, &e))
		require.Equal(t, "remote account sync failed", e.Detail["error"])
		require.Equal(t, "remote_sync_failed", e.Detail["code"])
		require.NotEmpty(t, e.Detail["request_id"])
		require.Len(t, e.Detail, 3)
		for _, leak := range []string{"query-secret", "bearer-secret", "upstream-secret-body", "127.0.0.1", "accounts"} {
			require.NotContains(t, string(res), leak)
		}
		status, res = b.call(t, http.MethodGet, sourcesPath+"/"+id+"/sync", "")
		require.Equal(t, http.StatusOK, status)
		requireSeed(t, `{"import_job": {"job_id": "9999aaaabbbbccccddddeeeeffff0000", "status": "failed",
			"created_at": "2026-05-23T10:20:00+00:00", "updated_at": "2026-05-23T10:20:01+00:00",
			"source_id": "a1b2c3d4e5f6", "source_name": "Failing", "strategy": "merge",
			"total": 0, "added": 0, "skipped": 0, "removed": 0, "failed": 0,
			"errors": ["fetch: the source answered HTTP 500"]}}`, res, nil)
	})

	t.Run("Unauthenticated", func(t *testing.T) {
		for _, tok := range []string{"", "not-a-jwt"} {
			status, res := b.call(t, http.MethodGet, sourcesPath, "", tok)
			require.Equal(t, http.StatusUnauthorized, status)
			requireExact(t, `{"detail": {"error": "密钥无效或已失效,请重新登录", "code": "unauthorized"}}`, res)
			status, res = b.call(t, http.MethodPost, injectPath, seedTokensReq, tok)
			require.Equal(t, http.StatusUnauthorized, status)
			requireExact(t, `{"detail": {"error": "密钥无效或已失效,请重新登录", "code": "unauthorized"}}`, res)
		}
	})

	t.Run("NotAdmin", func(t *testing.T) {
		u := b.env.NewUser("remote-mallory", 0)
		for _, tok := range []string{u.Token, u.Key} {
			for _, r := range [][3]string{{http.MethodGet, sourcesPath, ""}, {http.MethodPost, sourcesPath, seedCreateReq},
				{http.MethodPost, injectPath, seedTokensReq}, {http.MethodPost, sourcesPath + "/a1b2c3d4e5f6/sync", ""},
				{http.MethodGet, sourcesPath + "/a1b2c3d4e5f6/sync", ""}, {http.MethodDelete, sourcesPath + "/a1b2c3d4e5f6", ""},
				{http.MethodPost, sourcesPath + "/a1b2c3d4e5f6", seedUpdateReq}} {
				status, res := b.call(t, r[0], r[1], r[2], tok)
				require.Equal(t, http.StatusForbidden, status, r[1])
				requireExact(t, `{"detail": {"error": "需要管理员权限才能执行这个操作", "code": "forbidden"}}`, res)
			}
		}
	})
}

// TestRemoteSeedFreshInstall replays the seed's requests, exactly as the seed shows them, on a
// fresh install with no channel at all: every injection and the sync succeed with the seed's
// counts. Poolgate creates each provider's channel (visible in the admin API, disabled, no base
// URL); giving it a base URL enables it, and the imported accounts then serve calls.
func TestRemoteSeedFreshInstall(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.0/8" }))
	b := &remoteBundle{testBundle: &testBundle{env: env, admin: env.Admin(), ctx: context.Background()}}
	channels := func() map[string]adminclient.Channel {
		res, err := b.admin.ChannelListWithResponse(b.ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		out := map[string]adminclient.Channel{}
		for _, c := range res.JSON200.Items {
			out[c.Name] = c
		}
		return out
	}
	require.Empty(t, channels())

	for _, step := range []struct{ req, res string }{
		{seedTokensReq, seedTokensRes},
		{seedGPTAccReq, seedGPTAccRes},
		{seedGrokAccReq, seedGrokAccRes},
	} {
		status, res := b.call(t, http.MethodPost, injectPath, step.req)
		require.Equal(t, http.StatusOK, status, string(res))
		requireExact(t, step.res, res)
	}

	// The seed's sync: two tokens served, one of them already in the pool.
	up := newPayloadServer(t, `{"tokens": ["example-token-1", "example-token-2"]}`)
	status, res := b.call(t, http.MethodPost, injectPath, `{"tokens": ["example-token-1"]}`)
	require.Equal(t, http.StatusOK, status, string(res))
	status, res = b.call(t, http.MethodPost, sourcesPath, strings.Replace(seedCreateReq, seedUnavailable, up.srv.URL+"/webchat2api.json", 1))
	require.Equal(t, http.StatusOK, status, string(res))
	status, res = b.call(t, http.MethodPost, sourcesPath+"/"+sourceID(t, res)+"/sync", "")
	require.Equal(t, http.StatusOK, status, string(res))
	requireSeed(t, seedSyncRes, res, map[string]string{up.srv.URL + "/webchat2api.json": seedUnavailable})

	cs := channels()
	require.Len(t, cs, 2)
	gpt, grok := cs["remote-gpt"], cs["remote-grok"]
	for _, c := range []adminclient.Channel{gpt, grok} {
		require.Equal(t, adminclient.Openai, c.Type)
		require.Equal(t, adminclient.ActiveStatusDisabled, c.Status, "not routed until it has an upstream")
		require.Empty(t, c.BaseUrl)
		require.Empty(t, c.Models)
	}
	require.Equal(t, 5, gpt.AccountCount, "example-gpt-token-1..3, example-token-1..2")
	require.Equal(t, 1, grok.AccountCount)

	// Enabling a channel without a base URL is refused; giving it one enables it.
	en, err := b.admin.ChannelUpdateWithResponse(b.ctx, grok.Id, adminclient.ChannelUpdate{Status: ptr(adminclient.ActiveStatusActive)})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "set this channel's base_url before enabling it", en.StatusCode(), en.Body)
	set, err := b.admin.ChannelUpdateWithResponse(b.ctx, gpt.Id, adminclient.ChannelUpdate{BaseUrl: &env.UpstreamURL,
		Models: &[]string{"gpt-4o-mini"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	require.Equal(t, adminclient.ActiveStatusActive, set.JSON200.Status)

	env.Price("gpt-4o-mini", 1000, 2000)
	u := env.NewUser("fresh-caller", 1_000_000)
	call, err := http.NewRequestWithContext(b.ctx, http.MethodPost, env.URL+"/v1/chat/completions",
		strings.NewReader(`{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}`))
	require.NoError(t, err)
	call.Header.Set("Authorization", "Bearer "+u.Key)
	call.Header.Set("Content-Type", jsonType)
	ans, err := http.DefaultClient.Do(call)
	require.NoError(t, err)
	body, _ := io.ReadAll(ans.Body)
	_ = ans.Body.Close()
	require.Equal(t, http.StatusOK, ans.StatusCode, string(body))
}

// TestRemoteSourceAuth syncs a real source in the three payload shapes, with bearer and custom
// header authentication.
func TestRemoteSourceAuth(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t)
	up := newPayloadServer(t, `{"tokens": ["shape-token-1", "shape-token-2"]}`)

	status, res := b.call(t, http.MethodPost, sourcesPath, `{"name": "Bearer", "url": "`+up.srv.URL+`/protected.json",
		"bearer_token": "example-upstream-bearer-token", "provider": "gpt"}`)
	require.Equal(t, http.StatusOK, status, string(res))
	bearer := sourceID(t, res)
	sync, err := b.admin.RemoteSourceSyncWithResponse(b.ctx, bearer)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, sync.StatusCode(), string(sync.Body))
	require.Equal(t, 2, sync.JSON200.ImportJob.Added)
	h, method := up.seen()
	require.Equal(t, http.MethodGet, method)
	require.Equal(t, "Bearer example-upstream-bearer-token", h.Get("Authorization"))

	up.set(`{"accounts": [{"access_token": "shape-token-3", "provider": "gpt", "type": "plus"},
		{"token": "shape-token-4", "provider": "grok", "type": "basic"}]}`, http.StatusOK)
	status, res = b.call(t, http.MethodPost, sourcesPath, strings.Replace(seedHeaderReq, "https://accounts.example.test/grok.json", up.srv.URL+"/grok.json", 1))
	require.Equal(t, http.StatusOK, status, string(res))
	header := sourceID(t, res)
	sync, err = b.admin.RemoteSourceSyncWithResponse(b.ctx, header)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, sync.StatusCode(), string(sync.Body))
	require.Equal(t, 2, sync.JSON200.ImportJob.Added)
	h, method = up.seen()
	require.Equal(t, http.MethodPost, method)
	require.Equal(t, "example-upstream-header-token", h.Get("X-Remote-Account-Key"))
	require.Empty(t, h.Get("Authorization"))

	up.set(`["shape-token-4", {"access_token": "shape-token-5", "provider": "gpt"}]`, http.StatusOK)
	sync, err = b.admin.RemoteSourceSyncWithResponse(b.ctx, header)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, sync.StatusCode(), string(sync.Body))
	j := sync.JSON200.ImportJob
	require.Equal(t, [5]int{2, 1, 1, 1, 0}, [5]int{j.Total, j.Added, j.Skipped, j.Removed, j.Failed}, "replace drops shape-token-3")

	// An update can remove a secret; the next sync goes without it.
	upd, err := b.admin.RemoteSourceUpdateWithResponse(b.ctx, bearer, adminclient.RemoteSourceUpdate{BearerToken: wire.Opt(ptr(""))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upd.StatusCode(), string(upd.Body))
	require.False(t, upd.JSON200.Source.HasBearerToken)
	sync, err = b.admin.RemoteSourceSyncWithResponse(b.ctx, bearer)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, sync.StatusCode(), string(sync.Body))
	h, _ = up.seen()
	require.Empty(t, h.Get("Authorization"))
}

// TestRemotePrivateRefused: without ALLOW_PRIVATE_OUTBOUND a loopback source is refused when
// saved, and a host that resolves to one is refused at sync time, without being called.
func TestRemotePrivateRefused(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t, apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "" }))
	up := newPayloadServer(t, `{"tokens": ["never-token"]}`)

	status, res := b.call(t, http.MethodPost, sourcesPath, `{"url": "`+up.srv.URL+`"}`)
	require.Equal(t, http.StatusBadRequest, status)
	requireExact(t, `{"detail": {"error": "url must not resolve to a loopback, private or link-local address (see ALLOW_PRIVATE_OUTBOUND)", "code": "address_not_allowed"}}`, res)

	local := strings.Replace(up.srv.URL, "127.0.0.1", "localhost", 1)
	status, res = b.call(t, http.MethodPost, sourcesPath, `{"url": "`+local+`"}`)
	require.Equal(t, http.StatusBadRequest, status, "localhost resolves to loopback: %s", res)

	// Saved while it did not resolve to a private address (as a rebinding host would be).
	_, err := b.env.App.Pool.Exec(b.ctx, `INSERT INTO remote_sources (id, url) VALUES ('0123456789ab', $1)`, local)
	require.NoError(t, err)
	status, res = b.call(t, http.MethodPost, sourcesPath+"/0123456789ab/sync", "")
	require.Equal(t, http.StatusBadGateway, status, string(res))
	require.Contains(t, string(res), "remote account sync failed")
	require.Zero(t, up.hits.Load())
	jobs, err := b.admin.RemoteSourceJobListWithResponse(b.ctx, "0123456789ab", &adminclient.RemoteSourceJobListParams{Limit: ptr(1)})
	require.NoError(t, err)
	require.Equal(t, []string{"fetch: the source's address is not allowed (loopback, private or link-local; see ALLOW_PRIVATE_OUTBOUND)"},
		jobs.JSON200.ImportJobs[0].Errors)
}

// TestRemoteScheduled: a source with interval_seconds is synced by the running app without a
// request.
func TestRemoteScheduled(t *testing.T) {
	t.Parallel()
	b := remoteSetup(t)
	up := newPayloadServer(t, `{"tokens": ["scheduled-token"]}`)
	status, res := b.call(t, http.MethodPost, sourcesPath, `{"url": "`+up.srv.URL+`", "interval_seconds": 3600}`)
	require.Equal(t, http.StatusOK, status, string(res))
	id := sourceID(t, res)
	require.Eventually(t, func() bool {
		r, err := b.admin.RemoteSourceSyncStatusWithResponse(b.ctx, id)
		return err == nil && r.JSON200 != nil && r.JSON200.ImportJob != nil && r.JSON200.ImportJob.Status == adminclient.Success
	}, 15*time.Second, 50*time.Millisecond)
	require.EqualValues(t, 1, up.hits.Load())
	list, err := b.admin.AccountListWithResponse(b.ctx, b.gpt)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
}
