// Package apptest starts the real Poolgate app for black-box tests: a fresh database cloned from
// the migrated template, the real Redis under a per-test key prefix (or none), a fake upstream,
// and HTTP clients whose every request and response is validated against the contracts.
package apptest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/auth"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/clients/go/public"
	"github.com/poolgate/poolgate/clients/go/seed001"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/testdb"
)

// Admin credentials of every test app.
const (
	AdminUsername = "admin"
	AdminPassword = "admin-password-1"
)

// Env is one running app under test.
type Env struct {
	T   testing.TB
	App *app.App
	// URL is the app's base URL; PublicURL is the same server as PUBLIC_URL names it
	// (http://localhost:port: passkeys need a domain name, and a browser's cookies follow the name).
	URL       string
	PublicURL string
	// Upstream is the fake provider behind the test channels; UpstreamURL is its API root.
	Upstream    *fakeupstream.Server
	UpstreamURL string
	// HTTP validates requests and responses against the contracts; RawHTTP only responses.
	HTTP    *http.Client
	RawHTTP *http.Client
	// AdminToken is the administrator's JWT.
	AdminToken string
	// DatabaseURL is the test database.
	DatabaseURL string

	cfg *config.Config
}

type options struct {
	log       io.Writer
	redis     bool
	redisURL  string
	configure []func(*config.Config)
	dbURL     string
	prefix    string
	noSetup   bool
	now       func() time.Time
	junk      bool
}

// Option adjusts New.
type Option func(*options)

// JunkInputs tells the leak scan that the test sends junk in every field (invalid-input tests):
// the same junk string lands in a password field of a request the app accepts and in a name of
// the next, so body fields are not taken for secrets (credentials still are).
func JunkInputs() Option { return func(o *options) { o.junk = true } }

// WithoutRedis runs the app with in-process sessions and caches.
func WithoutRedis() Option { return func(o *options) { o.redis = false } }

// WithDatabase runs the app on the database at url (a throwaway server the test controls) instead
// of a clone of the shared template; the app migrates it at start.
func WithDatabase(url string) Option { return func(o *options) { o.dbURL = url } }

// WithRedis runs the app on the Redis at url (a throwaway server the test controls).
func WithRedis(url string) Option { return func(o *options) { o.redis, o.redisURL = true, url } }

// WithConfig lets a test change the configuration before the app starts.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, f) }
}

// WithLog writes the app's log (JSON, debug level) to w: a test can read everything it logged.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithClock runs the app on an injected clock (cooldowns, windows and sessions end by it).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Sharing runs a second instance on another env's database and Redis prefix.
func Sharing(other *Env) Option {
	return func(o *options) { o.dbURL, o.prefix, o.noSetup = other.DatabaseURL, other.cfg.RedisPrefix, true }
}

// WithAdminFromEnvironment creates the administrator from ADMIN_API_LOGIN_INIT_KEY at start
// (seed 000) instead of POST /api/setup.
func WithAdminFromEnvironment() Option {
	return func(o *options) {
		o.noSetup = true
		o.configure = append(o.configure, func(c *config.Config) { c.AdminLoginInitKey = AdminPassword })
	}
}

// RedisURL is the Redis the tests use (TEST_REDIS_URL, default the local server).
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New starts an app with an administrator set up.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := options{redis: true}
	for _, f := range opts {
		f(&o)
	}
	if o.dbURL == "" {
		o.dbURL = testdb.URL(t)
	}
	if o.prefix == "" {
		o.prefix = "pgtest:" + randomHex(8) + ":"
	}
	// The listener comes first so the app knows its own URL (PUBLIC_URL: SSO redirect URIs,
	// the passkey relying party).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := &config.Config{PublicURL: fmt.Sprintf("http://localhost:%d", port),
		Port: 0, AppEnv: config.EnvDevelopment, DatabaseURL: o.dbURL, RedisPrefix: o.prefix,
		EncryptionKey: []byte("0123456789abcdef0123456789abcdef"), JWTSecret: []byte("test-jwt-secret-0123456789-abcdefghij"),
		LogLevel: "error", LogFormat: "text", MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second,
		UpstreamTimeout: 5 * time.Second, UpstreamIdleTimeout: time.Minute, MaxAttempts: 3, UsageBatchSize: 100, UsageFlushEvery: 10 * time.Millisecond,
		UsageQueueSize: 1000, SessionMaxDevices: 5, CacheTTL: time.Minute, Version: "test",
		UsageJournalDir: t.TempDir(), UsageJournalSyncEvery: time.Second, UsageJournalSegmentBytes: 1 << 20,
	}
	if o.redis {
		cfg.RedisURL = cmp.Or(o.redisURL, RedisURL())
	}
	for _, f := range o.configure {
		f(cfg)
	}
	// Every log line (debug level) and every answer is scanned for the secrets of the suite
	// (leak.go); the scan's hits fail the test when it ends, and the package's run.
	test := t.Name()
	t.Cleanup(func() { reportLeaks(t, test) })
	configSecrets(cfg)
	log := leakLogger(test, o.log)
	ctx := context.Background()
	a, err := app.New(ctx, cfg, log, app.Options{BcryptCost: 4, Now: o.now})
	if err != nil {
		_ = ln.Close()
	}
	require.NoError(t, err, "start app")
	a.Start(ctx)
	// The server app.Serve runs (HTTP_SERVER), so every test speaks to it.
	srv := app.NewServer(cfg, &leakHandler{test: test, next: a.Echo, junk: o.junk}, log)
	go func() { _ = srv.Serve(ln) }()
	up := fakeupstream.New()
	upSrv := httptest.NewServer(up)
	e := &Env{T: t, App: a, URL: "http://" + ln.Addr().String(), PublicURL: cfg.PublicURL, Upstream: up, UpstreamURL: upSrv.URL + "/v1", DatabaseURL: o.dbURL, cfg: cfg,
		HTTP:    &http.Client{Transport: &validatingTransport{t: t, base: http.DefaultTransport, checkRequests: true}},
		RawHTTP: &http.Client{Transport: &validatingTransport{t: t, base: http.DefaultTransport}}}
	t.Cleanup(func() {
		_ = srv.Close()
		upSrv.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(cctx)
	})
	if !o.noSetup {
		pub := e.Public()
		res, err := pub.SetupCreateWithResponse(ctx, commonclient.Credentials{Username: AdminUsername, Password: AdminPassword})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	}
	e.AdminToken = e.Login(AdminUsername, AdminPassword)
	return e
}

// Login signs in and returns the JWT.
func (e *Env) Login(username, password string) string {
	e.T.Helper()
	res, err := e.Auth().PasswordLoginWithResponse(context.Background(), authclient.LoginRequest{Username: username, Password: password})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Token
}

// SignIn is one password sign-in: its JWT and its session cookie (the same session).
type SignIn struct{ JWT, Cookie string }

// SignInAs signs in with a password from a browser or app that says agent, and returns the
// session's JWT and cookie.
func (e *Env) SignInAs(username, password, agent string) SignIn {
	e.T.Helper()
	res, err := e.Auth().PasswordLoginWithResponse(context.Background(), authclient.LoginRequest{Username: username, Password: password},
		func(_ context.Context, r *http.Request) error {
			r.Header.Set("User-Agent", agent)
			return nil
		})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusOK, res.StatusCode(), string(res.Body))
	for _, c := range res.HTTPResponse.Cookies() {
		if c.Name == "poolgate_session" {
			return SignIn{JWT: res.JSON200.Token, Cookie: c.Value}
		}
	}
	e.T.Fatal("no session cookie in the sign-in answer")
	return SignIn{}
}

// Bearer adds Authorization: Bearer to generated clients' requests.
func Bearer(token string) func(ctx context.Context, req *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// Public is a client of the public contract.
func (e *Env) Public() *publicclient.ClientWithResponses {
	c, err := publicclient.NewClientWithResponses(e.URL, publicclient.WithHTTPClient(e.HTTP))
	require.NoError(e.T, err)
	return c
}

// Auth is a client of the auth contract.
func (e *Env) Auth() *authclient.ClientWithResponses {
	c, err := authclient.NewClientWithResponses(e.URL, authclient.WithHTTPClient(e.HTTP))
	require.NoError(e.T, err)
	return c
}

// User is a client of the user contract authenticated with token ("" for none).
func (e *Env) User(token string) *userclient.ClientWithResponses {
	opts := []userclient.ClientOption{userclient.WithHTTPClient(e.HTTP)}
	if token != "" {
		opts = append(opts, userclient.WithRequestEditorFn(Bearer(token)))
	}
	c, err := userclient.NewClientWithResponses(e.URL, opts...)
	require.NoError(e.T, err)
	return c
}

// Seed001 is a client of the seed 001 compatible contract authenticated with token ("" for none).
func (e *Env) Seed001(token string) *seed001client.ClientWithResponses {
	opts := []seed001client.ClientOption{seed001client.WithHTTPClient(e.HTTP)}
	if token != "" {
		opts = append(opts, seed001client.WithRequestEditorFn(Bearer(token)))
	}
	c, err := seed001client.NewClientWithResponses(e.URL, opts...)
	require.NoError(e.T, err)
	return c
}

// Admin is a client of the admin contract authenticated as the administrator.
func (e *Env) Admin() *adminclient.ClientWithResponses { return e.AdminAs(e.AdminToken) }

// AdminAs is a client of the admin contract authenticated with token ("" for none).
func (e *Env) AdminAs(token string) *adminclient.ClientWithResponses {
	opts := []adminclient.ClientOption{adminclient.WithHTTPClient(e.HTTP)}
	if token != "" {
		opts = append(opts, adminclient.WithRequestEditorFn(Bearer(token)))
	}
	c, err := adminclient.NewClientWithResponses(e.URL, opts...)
	require.NoError(e.T, err)
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
