package apptest

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testdb"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// Config is the configuration of a standalone server (app.Serve) in development mode on a free
// port and a fresh test database, without Redis.
func Config(t testing.TB) *config.Config {
	t.Helper()
	return &config.Config{
		Port: testsvc.FreePort(t), AppEnv: config.EnvDevelopment, DatabaseURL: testdb.URL(t), RedisPrefix: "pgtest:",
		EncryptionKey: []byte("0123456789abcdef0123456789abcdef"), JWTSecret: []byte("test-jwt-secret-0123456789-abcdefghij"),
		LogLevel: "error", LogFormat: "text", MaxBodyBytes: 1 << 20, ShutdownTimeout: 10 * time.Second,
		UpstreamTimeout: 5 * time.Second, MaxAttempts: 3, UsageBatchSize: 100, UsageFlushEvery: 10 * time.Millisecond,
		UsageQueueSize: 1000, SessionMaxDevices: 5, CacheTTL: time.Minute, Version: "test", DataDir: t.TempDir(),
	}
}

// WaitHealthy waits up to 20 s until the server at base (http://host:port) answers GET /health
// with 200, and returns that answer's body.
func WaitHealthy(t testing.TB, base string) []byte {
	t.Helper()
	var body []byte
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/health") //nolint:noctx // test
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body, err = io.ReadAll(res.Body)
		return err == nil && res.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond)
	return body
}
