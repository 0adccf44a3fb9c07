package config_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/config"
)

// env is a Getenv over a map.
func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

var (
	encKey    = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	jwtSecret = "jwt-secret-0123456789-abcdefghijkl"
)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, &config.Config{
		Port: 8080, AppEnv: config.EnvProduction, RedisPrefix: "poolgate:", DataDir: ".poolgate", LimitsAllowances: true, GCHeapFloor: 64 << 20,
		LogLevel: "info", LogFormat: "json", MaxBodyBytes: 32 << 20, ShutdownTimeout: 30 * time.Second,
		UpstreamTimeout: 60 * time.Second, UpstreamIdleTimeout: 5 * time.Minute, UpstreamClient: "lean", HTTPServer: "lean", MaxAttempts: 3, UsageBatchSize: 500,
		UsageFlushEvery: 100 * time.Millisecond, UsageQueueSize: 20000, SessionMaxDevices: 5,
		UsageJournalDir: ".poolgate/usage-journal", UsageJournalSyncEvery: time.Second, UsageJournalSegmentBytes: 8 << 20,
		CacheTTL: 60 * time.Second, Version: "0.1.0", PublicURL: "http://localhost:8080", HookTimeout: 5 * time.Second, HookUserToken: "login",
		PoolDefaultCooldown: time.Minute, PoolMaxCooldown: 24 * time.Hour,
		PoolStickyTTL: time.Hour, PoolLeaseTTL: 30 * time.Minute, PoolFailureThreshold: 5,
		PoolProbeInterval: 5 * time.Minute, PoolRetryBudget: 90 * time.Second, OTelServiceName: "poolgate",
	}, c)

	c, err = config.Load(env(map[string]string{"APP_ENV": "development"}))
	require.NoError(t, err)
	require.Equal(t, "text", c.LogFormat, "development logs as text by default")
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"PORT": "9090", "APP_ENV": "development", "DATABASE_URL": "postgres://u@db/pg", "REDIS_URL": "redis://r:6379/1",
		"REDIS_PREFIX": "x:", "ENCRYPTION_KEY": encKey, "JWT_SECRET": jwtSecret, "DATA_DIR": "/tmp/pg",
		"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "JSON", "MAX_BODY_BYTES": "1024", "SHUTDOWN_TIMEOUT": "1m",
		"UPSTREAM_TIMEOUT": "1.5s", "UPSTREAM_IDLE_TIMEOUT": "2m", "UPSTREAM_CLIENT": "net/http", "HTTP_SERVER": "net/http", "MAX_ATTEMPTS": "10", "USAGE_BATCH_SIZE": "1", "USAGE_FLUSH_INTERVAL": "5ms",
		"USAGE_QUEUE_SIZE": "7", "SESSION_MAX_DEVICES": "1000", "CACHE_TTL": "2h",
		"USAGE_JOURNAL_DIR": "/var/lib/pg/journal", "USAGE_JOURNAL_SYNC_INTERVAL": "250ms", "USAGE_JOURNAL_SEGMENT_BYTES": "65536",
		"OAUTH_URL": "https://hooks.example/login", "AUDIT_LIMIT_URL": "https://hooks.example/audit",
		"NOTIFY_URL": "https://hooks.example/notify", "HOOK_TIMEOUT": "750ms", "HOOK_FAIL_OPEN": "TRUE",
		"HOOK_USER_TOKEN": "Hash", "HOOK_SECRET": "hook-secret", "OAUTH_CAR_ID": "car-1", "OAUTH_NODE_TYPE": "pro", "OAUTH_PLAN_TYPE": "3",
		"ALLOW_PRIVATE_OUTBOUND": "127.0.0.0/8, 10.0.0.7,hooks.internal", "GUARD_CHANNEL_BASE_URLS": "yes",
		"POOL_ERROR_ACTIONS": "418~teapot=cool:2m; 4xx=retry", "POOL_DEFAULT_COOLDOWN": "30s", "POOL_MAX_COOLDOWN": "1h",
		"POOL_STICKY_TTL": "10m", "POOL_LEASE_TTL": "5m", "POOL_FAILURE_THRESHOLD": "0", "POOL_PROBE_INTERVAL": "1m",
		"POOL_RETRY_BUDGET": "20s", "LIMITS_ALLOWANCES": "false", "GC_HEAP_FLOOR": "0",
	}))
	require.NoError(t, err)
	require.Equal(t, &config.Config{
		Port: 9090, AppEnv: config.EnvDevelopment, DatabaseURL: "postgres://u@db/pg", RedisURL: "redis://r:6379/1",
		RedisPrefix: "x:", EncryptionKey: []byte("0123456789abcdef0123456789abcdef"), JWTSecret: []byte(jwtSecret),
		DataDir: "/tmp/pg", LogLevel: "debug", LogFormat: "json", MaxBodyBytes: 1024, ShutdownTimeout: time.Minute,
		UpstreamTimeout: 1500 * time.Millisecond, UpstreamIdleTimeout: 2 * time.Minute, UpstreamClient: "net/http", HTTPServer: "net/http", MaxAttempts: 10, UsageBatchSize: 1,
		UsageFlushEvery: 5 * time.Millisecond, UsageQueueSize: 7, SessionMaxDevices: 1000, CacheTTL: 2 * time.Hour,
		UsageJournalDir: "/var/lib/pg/journal", UsageJournalSyncEvery: 250 * time.Millisecond, UsageJournalSegmentBytes: 64 << 10,
		Version: "0.1.0", PublicURL: "http://localhost:9090", OAuthURL: "https://hooks.example/login", AuditLimitURL: "https://hooks.example/audit",
		NotifyURL: "https://hooks.example/notify", HookTimeout: 750 * time.Millisecond, HookFailOpen: true,
		HookUserToken: "hash",
		HookSecret:    []byte("hook-secret"), OAuthCarID: "car-1", OAuthNodeType: "pro", OAuthPlanType: "3",
		AllowPrivateOutbound: "127.0.0.0/8, 10.0.0.7,hooks.internal", GuardChannelBaseURLs: true,
		PoolErrorActions:    "418~teapot=cool:2m; 4xx=retry",
		PoolDefaultCooldown: 30 * time.Second, PoolMaxCooldown: time.Hour, PoolStickyTTL: 10 * time.Minute,
		PoolLeaseTTL: 5 * time.Minute, PoolProbeInterval: time.Minute, PoolRetryBudget: 20 * time.Second, OTelServiceName: "poolgate",
	}, c)

	for v, want := range map[string]bool{"true": true, "1": true, "yes": true, "false": false, "0": false, "no": false, "": false} {
		c, err := config.Load(env(map[string]string{"HOOK_FAIL_OPEN": v}))
		require.NoError(t, err, v)
		require.Equal(t, want, c.HookFailOpen, v)
	}
	for v, want := range map[string]string{"": "login", "Login": "login", "key": "key", "hash": "hash", "USER_ID": "user_id"} {
		c, err := config.Load(env(map[string]string{"HOOK_USER_TOKEN": v}))
		require.NoError(t, err, v)
		require.Equal(t, want, c.HookUserToken, v)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env(map[string]string{
		"PORT": "http", "APP_ENV": "staging", "LOG_LEVEL": "loud", "LOG_FORMAT": "xml", "MAX_BODY_BYTES": "10",
		"SHUTDOWN_TIMEOUT": "soon", "UPSTREAM_TIMEOUT": "-1s", "MAX_ATTEMPTS": "11", "USAGE_BATCH_SIZE": "0",
		"USAGE_FLUSH_INTERVAL": "0s", "USAGE_QUEUE_SIZE": "1e3", "SESSION_MAX_DEVICES": "0", "CACHE_TTL": "60",
		"ENCRYPTION_KEY": "c2hvcnQ=", "JWT_SECRET": "short", "HOOK_TIMEOUT": "never", "HOOK_FAIL_OPEN": "maybe",
		"HOOK_USER_TOKEN": "plain", "ALLOW_PRIVATE_OUTBOUND": "10.0.0.0/8,not a host", "GUARD_CHANNEL_BASE_URLS": "sometimes",
		"DEBUG_ADDR": "6060",
	}))
	require.Error(t, err)
	// Every problem is reported at once, one readable line each.
	want := []string{
		`PORT must be a whole number from 1 to 65535, got "http"`,
		`MAX_BODY_BYTES must be a whole number from 1024 to 2147483648, got "10"`,
		`SHUTDOWN_TIMEOUT must be a positive duration such as 30s, got "soon"`,
		`UPSTREAM_TIMEOUT must be a positive duration such as 30s, got "-1s"`,
		`MAX_ATTEMPTS must be a whole number from 1 to 10, got "11"`,
		`USAGE_BATCH_SIZE must be a whole number from 1 to 10000, got "0"`,
		`USAGE_FLUSH_INTERVAL must be a positive duration such as 30s, got "0s"`,
		`USAGE_QUEUE_SIZE must be a whole number from 1 to 10000000, got "1e3"`,
		`SESSION_MAX_DEVICES must be a whole number from 1 to 1000, got "0"`,
		`CACHE_TTL must be a positive duration such as 30s, got "60"`,
		`HOOK_TIMEOUT must be a positive duration such as 30s, got "never"`,
		`HOOK_FAIL_OPEN must be true or false, got "maybe"`,
		`HOOK_USER_TOKEN must be login, key, hash or user_id, got "plain"`,
		`ALLOW_PRIVATE_OUTBOUND: "not a host" is not a CIDR, an IP address or a host name`,
		`GUARD_CHANNEL_BASE_URLS must be true or false, got "sometimes"`,
		`DEBUG_ADDR must be host:port such as 127.0.0.1:6060, got "6060"`,
		`APP_ENV must be "development" or "production", got "staging"`,
		`LOG_FORMAT must be json or text, got "xml"`,
		`LOG_LEVEL must be debug, info, warn or error, got "loud"`,
		`ENCRYPTION_KEY must be 32 random bytes in base64 (openssl rand -base64 32)`,
		`JWT_SECRET must be at least 32 characters`,
	}
	require.Equal(t, want, strings.Split(err.Error(), "\n"))
	require.NotContains(t, err.Error(), "short", "secret values are not echoed")
	require.NotContains(t, err.Error(), "c2hvcnQ=")

	_, err = config.Load(env(map[string]string{"ENCRYPTION_KEY": "not base64!"}))
	require.EqualError(t, err, `ENCRYPTION_KEY must be 32 random bytes in base64 (openssl rand -base64 32)`)
	_, err = config.Load(env(map[string]string{"PORT": "65536"}))
	require.EqualError(t, err, `PORT must be a whole number from 1 to 65535, got "65536"`)
}

func TestLoadFileVariants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	c, err := config.Load(env(map[string]string{
		"ENCRYPTION_KEY_FILE": file("enc", encKey+"\n"),
		"JWT_SECRET_FILE":     file("jwt", "  "+jwtSecret+"\r\n"),
		"DATABASE_URL_FILE":   file("db", "postgres://u:p@db/pg\n"),
		"REDIS_URL_FILE":      file("redis", "redis://:pw@r:6379/0\n"),
	}))
	require.NoError(t, err)
	require.Equal(t, []byte("0123456789abcdef0123456789abcdef"), c.EncryptionKey)
	require.Equal(t, []byte(jwtSecret), c.JWTSecret)
	require.Equal(t, "postgres://u:p@db/pg", c.DatabaseURL)
	require.Equal(t, "redis://:pw@r:6379/0", c.RedisURL)

	// The variable itself wins over its _FILE variant.
	c, err = config.Load(env(map[string]string{"JWT_SECRET": jwtSecret + "-env", "JWT_SECRET_FILE": file("jwt2", "ignored")}))
	require.NoError(t, err)
	require.Equal(t, []byte(jwtSecret+"-env"), c.JWTSecret)

	// A file's content is validated like the variable.
	_, err = config.Load(env(map[string]string{"JWT_SECRET_FILE": file("jwt3", "short\n")}))
	require.EqualError(t, err, "JWT_SECRET must be at least 32 characters")

	missing := filepath.Join(dir, "missing")
	_, err = config.Load(env(map[string]string{"JWT_SECRET_FILE": missing, "DATABASE_URL_FILE": missing}))
	require.Error(t, err)
	require.Contains(t, err.Error(), "DATABASE_URL_FILE: open "+missing)
	require.Contains(t, err.Error(), "JWT_SECRET_FILE: open "+missing)
}

func TestDotenv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join([]string{
		"# local settings",
		"",
		"PORT=9191",
		"export LOG_LEVEL=warn",
		`  REDIS_PREFIX = "dev:" `,
		"DATABASE_URL='postgres://u@localhost/dev'",
		"JWT_SECRET=" + jwtSecret,
		"APP_ENV=development",
		"not a variable",
		`LOG_FORMAT="json`,
	}, "\n")), 0o600))
	getenv := config.WithDotenv(env(map[string]string{"PORT": "7000"}), path)
	require.Equal(t, "7000", getenv("PORT"), "the environment wins over the file")
	require.Equal(t, "warn", getenv("LOG_LEVEL"))
	require.Equal(t, "dev:", getenv("REDIS_PREFIX"))
	require.Equal(t, "postgres://u@localhost/dev", getenv("DATABASE_URL"))
	require.Equal(t, `"json`, getenv("LOG_FORMAT"), "an unbalanced quote is kept")
	require.Empty(t, getenv("not a variable"))
	require.Empty(t, getenv("MISSING"))

	_, err := config.Load(getenv)
	require.EqualError(t, err, `LOG_FORMAT must be json or text, got "\"json"`)

	require.NoError(t, os.WriteFile(path, []byte("PORT=9191\nLOG_LEVEL=warn\nAPP_ENV=development\nJWT_SECRET="+jwtSecret+"\n"), 0o600))
	c, err := config.Load(config.WithDotenv(env(nil), path))
	require.NoError(t, err)
	require.Equal(t, 9191, c.Port)
	require.Equal(t, "warn", c.LogLevel)
	require.Equal(t, []byte(jwtSecret), c.JWTSecret)

	// A missing file is no error: the environment alone is used.
	getenv = config.WithDotenv(env(map[string]string{"PORT": "7000"}), filepath.Join(dir, "nope"))
	require.Equal(t, "7000", getenv("PORT"))
	require.Empty(t, getenv("LOG_LEVEL"))
}

func TestValidateProduction(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{"APP_ENV": "production", "DATA_DIR": t.TempDir()}))
	require.NoError(t, err)
	err = c.Validate()
	require.Equal(t, []string{
		"ENCRYPTION_KEY is required in production (openssl rand -base64 32)",
		"JWT_SECRET is required in production (32+ characters)",
		"DATABASE_URL is required (postgres://user:pass@host:5432/db)",
	}, strings.Split(err.Error(), "\n"))
	require.NoFileExists(t, filepath.Join(c.DataDir, "secrets.json"), "production never generates secrets")

	c, err = config.Load(env(map[string]string{"ENCRYPTION_KEY": encKey, "DATABASE_URL": "postgres://db/pg"}))
	require.NoError(t, err)
	require.EqualError(t, c.Validate(), "JWT_SECRET is required in production (32+ characters)")

	c, err = config.Load(env(map[string]string{"ENCRYPTION_KEY": encKey, "JWT_SECRET": jwtSecret, "DATABASE_URL": "postgres://db/pg"}))
	require.NoError(t, err)
	require.NoError(t, c.Validate())
}

func TestValidateDevelopmentSecrets(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	vars := map[string]string{"APP_ENV": "development", "DATA_DIR": dir, "DATABASE_URL": "postgres://db/pg"}
	load := func(extra map[string]string) *config.Config {
		t.Helper()
		m := map[string]string{}
		for k, v := range vars {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		c, err := config.Load(env(m))
		require.NoError(t, err)
		require.NoError(t, c.Validate())
		return c
	}

	first := load(nil)
	require.Len(t, first.EncryptionKey, 32)
	require.GreaterOrEqual(t, len(first.JWTSecret), 32)
	path := filepath.Join(dir, "secrets.json")
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dst, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), dst.Mode().Perm())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)

	// The next start reuses them and leaves the file alone.
	second := load(nil)
	require.Equal(t, first.EncryptionKey, second.EncryptionKey)
	require.Equal(t, first.JWTSecret, second.JWTSecret)
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, raw, again)

	// Values from the environment win over the generated ones.
	third := load(map[string]string{"JWT_SECRET": jwtSecret})
	require.Equal(t, []byte(jwtSecret), third.JWTSecret)
	require.Equal(t, first.EncryptionKey, third.EncryptionKey)

	// Another data directory gets other secrets.
	vars["DATA_DIR"] = filepath.Join(t.TempDir(), "other")
	other := load(nil)
	require.NotEqual(t, first.EncryptionKey, other.EncryptionKey)
	require.NotEqual(t, first.JWTSecret, other.JWTSecret)
}

func TestValidateDevelopmentBrokenSecrets(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"NotJSON":    "{not json",
		"BadKey":     `{"encryption_key":"c2hvcnQ=","jwt_secret":"x"}`,
		"BadKeyB64":  `{"encryption_key":"!!!","jwt_secret":"x"}`,
		"WrongTypes": `{"encryption_key":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "secrets.json")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			c, err := config.Load(env(map[string]string{"APP_ENV": "development", "DATA_DIR": dir, "DATABASE_URL": "postgres://db/pg"}))
			require.NoError(t, err)
			err = c.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), path, "the error names the file")
			require.NotContains(t, err.Error(), "in production", "development is not told about production")
			require.NotContains(t, err.Error(), "\n", "one problem, one line")
			got, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			require.Equal(t, content, string(got), "a broken file is never overwritten")
		})
	}

	// A data directory that cannot be created.
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	c, err := config.Load(env(map[string]string{"APP_ENV": "development", "DATA_DIR": filepath.Join(blocker, "data"), "DATABASE_URL": "postgres://db/pg"}))
	require.NoError(t, err)
	err = c.Validate()
	require.Error(t, err)
	require.Contains(t, err.Error(), "create "+filepath.Join(blocker, "data"))
	require.NotContains(t, err.Error(), "in production")
}

// redacted returns Redacted as a map.
func redacted(t *testing.T, c *config.Config) map[string]string {
	t.Helper()
	kv := c.Redacted()
	require.Zero(t, len(kv)%2)
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		require.True(t, ok)
		m[k] = fmt.Sprint(kv[i+1])
	}
	return m
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := &config.Config{Port: 8080, AppEnv: config.EnvProduction,
		DatabaseURL: "postgres://poolgate:hunter2@db:5432/poolgate?sslmode=disable",
		RedisURL:    "redis://default:redispw@cache:6379/0", EncryptionKey: []byte("0123456789abcdef0123456789abcdef"),
		JWTSecret: []byte(jwtSecret), MaxBodyBytes: 1024, MaxAttempts: 3, HookSecret: []byte("hook-secret-value"),
		NotifyURL: "https://hooks.example/notify"}
	m := redacted(t, c)
	require.Equal(t, "postgres://poolgate:***@db:5432/poolgate?sslmode=disable", m["database_url"])
	require.Equal(t, "redis://default:***@cache:6379/0", m["redis_url"])
	require.Equal(t, "set", m["encryption_key"])
	require.Equal(t, "set", m["jwt_secret"])
	require.Equal(t, "set", m["hook_secret"])
	require.Equal(t, "8080", m["port"])
	all, err := json.Marshal(c.Redacted())
	require.NoError(t, err)
	for _, secret := range []string{"hunter2", "redispw", "0123456789abcdef", jwtSecret, "hook-secret-value"} {
		require.NotContains(t, string(all), secret)
	}

	m = redacted(t, &config.Config{})
	require.Equal(t, "unset", m["encryption_key"])
	require.Equal(t, "unset", m["jwt_secret"])
	require.Equal(t, "unset", m["hook_secret"])
	require.Empty(t, m["database_url"])
	require.Empty(t, m["redis_url"])
}

func TestRedactedConnectionStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u@db/pg", "postgres://u@db/pg"},
		{"postgres://db/pg", "postgres://db/pg"},
		{"redis://:pw@r:6379/0", "redis://:***@r:6379/0"},
		{"postgres://u:p@ss:w@rd@db/pg", "postgres://u:***@db/pg"},
		{"postgres://u@db/pg?sslmode=disable&password=hunter2", "postgres://u@db/pg?sslmode=disable&password=***"},
		{"postgres://u@db/pg?PASSWORD=hunter2&sslmode=disable", "postgres://u@db/pg?PASSWORD=***&sslmode=disable"},
		{"host=db user=u password=hunter2 dbname=pg", "host=db user=u password=*** dbname=pg"},
		{"host=db password = 'hunter 2' dbname=pg", "host=db password = *** dbname=pg"},
		{`host=db password='it\'s' dbname=pg`, "host=db password=*** dbname=pg"},
		{"host=db sslpassword=hunter2", "host=db sslpassword=***"},
	}
	for _, tt := range tests {
		m := redacted(t, &config.Config{DatabaseURL: tt.in})
		require.Equal(t, tt.want, m["database_url"], "redact %q", tt.in)
		require.NotContains(t, m["database_url"], "hunter")
	}
}

// TestRedisVariables: seed 000's REDIS_ENABLE, REDIS_HOST and REDIS_PORT, beside REDIS_URL.
func TestRedisVariables(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		vars map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"REDIS_URL": "redis://r:6379/1"}, "redis://r:6379/1"},
		{map[string]string{"REDIS_ENABLE": "true"}, "redis://127.0.0.1:6379/0"},
		{map[string]string{"REDIS_ENABLE": "true", "REDIS_HOST": "cache", "REDIS_PORT": "6380"}, "redis://cache:6380/0"},
		{map[string]string{"REDIS_HOST": "10.0.0.5"}, "redis://10.0.0.5:6379/0"},
		{map[string]string{"REDIS_HOST": "::1", "REDIS_PORT": "7000"}, "redis://[::1]:7000/0"},
		{map[string]string{"REDIS_ENABLE": "true", "REDIS_HOST": "cache", "REDIS_URL": "redis://r:6379/1"}, "redis://r:6379/1"},
		{map[string]string{"REDIS_ENABLE": "false", "REDIS_HOST": "cache", "REDIS_URL": "redis://r:6379/1"}, ""},
		{map[string]string{"REDIS_ENABLE": "FALSE", "REDIS_HOST": "cache"}, ""},
	} {
		c, err := config.Load(env(tt.vars))
		require.NoError(t, err, "%v", tt.vars)
		require.Equal(t, tt.want, c.RedisURL, "%v", tt.vars)
	}
	for vars, msg := range map[string]string{
		"REDIS_ENABLE=maybe":   `REDIS_ENABLE must be true or false, got "maybe"`,
		"REDIS_PORT=70000":     `REDIS_PORT must be a whole number from 1 to 65535, got "70000"`,
		"REDIS_HOST=user@host": `REDIS_HOST must be a host name or address, got "user@host"`,
	} {
		k, v, _ := strings.Cut(vars, "=")
		_, err := config.Load(env(map[string]string{k: v}))
		require.ErrorContains(t, err, msg)
	}

	// The seed's deployment: PORT and the Redis switch.
	c, err := config.Load(env(map[string]string{"PORT": "9000", "REDIS_ENABLE": "true", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379"}))
	require.NoError(t, err)
	require.Equal(t, 9000, c.Port)
	require.Equal(t, "redis://127.0.0.1:6379/0", c.RedisURL)
}
