package public_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/auth"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/clients/go/public"
	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testdb"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []apptest.Option
		redis publicclient.HealthRedis
	}{
		{"Redis", nil, publicclient.HealthRedisOk},
		{"WithoutRedis", []apptest.Option{apptest.WithoutRedis()}, publicclient.HealthRedisDisabled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t, tt.opts...)
			res, err := env.Public().HealthGetWithResponse(context.Background())
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
			require.Equal(t, publicclient.Health{Status: publicclient.HealthStatusOk, Database: publicclient.HealthDatabaseOk,
				Redis: tt.redis, Version: "test"}, *res.JSON200)
		})
	}
}

// TestHealthDatabaseDown takes the app's database away for real: new connections are refused and
// the app's open ones are terminated from another session.
func TestHealthDatabaseDown(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	u, err := url.Parse(env.DatabaseURL)
	require.NoError(t, err)
	name := strings.TrimPrefix(u.Path, "/")
	require.NotEmpty(t, name)
	// Another database on the same server: a session cannot lock out its own database.
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	ident := pgx.Identifier{name}.Sanitize()
	allow := func(ok bool) {
		_, err := conn.Exec(context.Background(), "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS "+strconv.FormatBool(ok))
		require.NoError(t, err)
	}
	allow(false)
	restored := false
	t.Cleanup(func() {
		if !restored {
			allow(true)
		}
	})
	_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	require.NoError(t, err)

	pub := env.Public()
	for range 3 { // each call finds the database down, whether through a dead or a refused connection
		res, err := pub.HealthGetWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode(), string(res.Body))
		var h publicclient.Health
		require.NoError(t, json.Unmarshal(res.Body, &h))
		require.Equal(t, publicclient.Health{Status: publicclient.HealthStatusUnavailable, Database: publicclient.HealthDatabaseDown,
			Redis: publicclient.HealthRedisOk, Version: "test"}, h)
	}
	allow(true)
	restored = true
	require.Eventually(t, func() bool {
		res, err := pub.HealthGetWithResponse(ctx)
		return err == nil && res.StatusCode() == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond, "the app reconnects once the database is back")
	st, err := pub.SetupStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
}

func TestSetupCompleted(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	pub := env.Public()

	st, err := pub.SetupStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	require.False(t, st.JSON200.NeedsSetup)

	for _, creds := range []commonclient.Credentials{
		{Username: "intruder", Password: "intruder-password"},
		{Username: apptest.AdminUsername, Password: "another-password"},
	} {
		res, err := pub.SetupCreateWithResponse(ctx, creds)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusConflict, "setup_completed", "setup has already been completed", res.StatusCode(), res.Body)
	}
	// Nobody was created and the administrator's password is unchanged.
	lr, err := env.Auth().PasswordLoginWithResponse(ctx, authclient.LoginRequest{Username: "intruder", Password: "intruder-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", lr.StatusCode(), lr.Body)
	lr, err = env.Auth().PasswordLoginWithResponse(ctx, authclient.LoginRequest{Username: apptest.AdminUsername, Password: "another-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", lr.StatusCode(), lr.Body)
	env.Login(apptest.AdminUsername, apptest.AdminPassword)
}

// freshApp starts the real app on a database where no administrator exists yet and returns a
// public client for it whose traffic is checked against the contracts by env's transport.
// apptest always runs setup, so the app is built here with the same configuration.
func freshApp(t *testing.T, env *apptest.Env) *publicclient.ClientWithResponses {
	t.Helper()
	ctx := context.Background()
	cfg := &config.Config{
		AppEnv: config.EnvDevelopment, DatabaseURL: testdb.URL(t),
		EncryptionKey: []byte("0123456789abcdef0123456789abcdef"), JWTSecret: []byte("test-jwt-secret-0123456789-abcdefghij"),
		LogLevel: "error", LogFormat: "text", MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second,
		UpstreamTimeout: 5 * time.Second, MaxAttempts: 3, UsageBatchSize: 100, UsageFlushEvery: 10 * time.Millisecond,
		UsageQueueSize: 1000, SessionMaxDevices: 5, CacheTTL: time.Minute, Version: "fresh",
	}
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{BcryptCost: 4})
	require.NoError(t, err)
	a.Start(ctx)
	srv := httptest.NewServer(a.Echo)
	t.Cleanup(func() {
		srv.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(cctx)
	})
	c, err := publicclient.NewClientWithResponses(srv.URL, publicclient.WithHTTPClient(env.HTTP))
	require.NoError(t, err)
	return c
}

func TestSetupFresh(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	pub := freshApp(t, env)
	ctx := context.Background()

	st, err := pub.SetupStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	require.True(t, st.JSON200.NeedsSetup)
	ps, err := pub.SettingsPublicGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ps.StatusCode(), string(ps.Body))
	require.True(t, ps.JSON200.NeedsSetup)

	res, err := pub.SetupCreateWithResponse(ctx, commonclient.Credentials{Username: "Root", Password: "root-password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	u := res.JSON201.User
	require.Equal(t, "Root", u.Username)
	require.Equal(t, commonclient.UserRoleAdmin, u.Role)
	require.Equal(t, commonclient.Active, u.Status)
	require.Positive(t, u.Id)
	require.NotContains(t, string(res.Body), "root-password")
	require.NotContains(t, string(res.Body), "$2a$", "the password hash never leaves")

	st, err = pub.SetupStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.False(t, st.JSON200.NeedsSetup)
	ps, err = pub.SettingsPublicGetWithResponse(ctx)
	require.NoError(t, err)
	require.False(t, ps.JSON200.NeedsSetup)

	res, err = pub.SetupCreateWithResponse(ctx, commonclient.Credentials{Username: "second", Password: "second-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "setup_completed", "", res.StatusCode(), res.Body)
}

// TestSetupRace sends many setups at once to a fresh app: exactly one administrator is created.
func TestSetupRace(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	pub := freshApp(t, env)
	ctx := context.Background()

	const n = 12
	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := pub.SetupCreateWithResponse(ctx, commonclient.Credentials{
				Username: "admin" + strconv.Itoa(i), Password: "admin-password-" + strconv.Itoa(i)})
			if err != nil {
				results[i] = result{err: err}
				return
			}
			results[i] = result{status: res.StatusCode(), body: res.Body}
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for _, r := range results {
		require.NoError(t, r.err)
		if r.status == http.StatusCreated {
			created++
			continue
		}
		apptest.RequireError(t, http.StatusConflict, "setup_completed", "", r.status, r.body)
	}
	require.Equal(t, 1, created, "exactly one setup wins")
	st, err := pub.SetupStatusGetWithResponse(ctx)
	require.NoError(t, err)
	require.False(t, st.JSON200.NeedsSetup)
}

func TestSetupBadInput(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	raw, err := publicclient.NewClientWithResponses(env.URL, publicclient.WithHTTPClient(env.RawHTTP))
	require.NoError(t, err)
	ctx := context.Background()
	for name, body := range map[string]string{
		"MalformedJSON": `{"username": "x",`,
		"MissingField":  `{"username": "someone"}`,
		"ShortPassword": `{"username": "someone", "password": "short"}`,
		"BadUsername":   `{"username": "some one", "password": "long-enough-password"}`,
		"UnknownField":  `{"username": "someone", "password": "long-enough-password", "role": "admin"}`,
		"WrongTypes":    `{"username": 1, "password": true}`,
	} {
		res, err := raw.SetupCreateWithBodyWithResponse(ctx, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, res.StatusCode(), "%s: %s", name, res.Body)
	}
}

func TestPublicSettings(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	pub := env.Public()
	res, err := pub.SettingsPublicGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	no := false
	none := []publicclient.SsoProvider{}
	require.Equal(t, publicclient.PublicSettings{SiteName: "Poolgate", RegistrationEnabled: true, NeedsSetup: false, Version: "test",
		EmailVerificationRequired: &no, OidcOnly: &no, SsoProviders: &none}, *res.JSON200)

	name, off := "Team Pool", false
	up, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{SiteName: &name, RegistrationEnabled: &off})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	res, err = pub.SettingsPublicGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, publicclient.PublicSettings{SiteName: "Team Pool", RegistrationEnabled: false, NeedsSetup: false, Version: "test",
		EmailVerificationRequired: &no, OidcOnly: &no, SsoProviders: &none}, *res.JSON200)
	// Nothing an administrator alone should see is public.
	var m map[string]any
	require.NoError(t, json.Unmarshal(res.Body, &m))
	require.ElementsMatch(t, []string{"site_name", "registration_enabled", "needs_setup", "version",
		"email_verification_required", "oidc_only", "sso_providers"}, keys(m))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
