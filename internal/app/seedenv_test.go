package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testdb"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// TestServeSeedDeployment starts the server from seed 000's deployment variables (PORT,
// REDIS_ENABLE, REDIS_HOST, REDIS_PORT; no REDIS_URL) and finds it listening on that port with
// Redis in use.
func TestServeSeedDeployment(t *testing.T) {
	t.Parallel()
	redisURL, err := url.Parse(apptest.RedisURL())
	require.NoError(t, err)
	port := testsvc.FreePort(t)
	dataDir := t.TempDir() // the seed's variables leave DATA_DIR to its default, in the working directory
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"PORT": strconv.Itoa(port), "REDIS_ENABLE": "true", "REDIS_HOST": redisURL.Hostname(), "REDIS_PORT": redisURL.Port(),
			"REDIS_PREFIX": "pgtest:seedenv:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":",
			"DATABASE_URL": testdb.URL(t), "APP_ENV": "production", "LOG_LEVEL": "error",
			"ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
			"JWT_SECRET":     "seed-env-jwt-secret-0123456789-abcdef",
			"DATA_DIR":       dataDir,
		}[k]
	})
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{BcryptCost: 4}) }()
	var health struct{ Status, Database, Redis string }
	require.NoError(t, json.Unmarshal(apptest.WaitHealthy(t, "http://127.0.0.1:"+strconv.Itoa(port)), &health))
	require.Equal(t, "ok", health.Redis, "REDIS_ENABLE/REDIS_HOST/REDIS_PORT connect Redis")
	cancel()
	require.NoError(t, <-done)
}
