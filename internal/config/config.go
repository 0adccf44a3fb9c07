// Package config loads Poolgate's typed configuration from environment variables (and an optional
// .env file), validates it with readable errors, and prints it with secrets redacted.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/poolgate/poolgate/internal/netguard"
)

// Environments accepted in APP_ENV.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Config is every setting Poolgate reads from its environment.
type Config struct {
	Port            int
	AppEnv          string
	DatabaseURL     string
	RedisURL        string
	RedisPrefix     string
	EncryptionKey   []byte // 32 bytes
	JWTSecret       []byte // 32+ bytes
	DataDir         string
	LogLevel        string
	LogFormat       string // json or text
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	UpstreamTimeout time.Duration // time to the upstream's response headers
	MaxAttempts     int           // upstream accounts tried per call
	UsageBatchSize  int
	UsageFlushEvery time.Duration
	UsageQueueSize  int
	// UsageJournalDir holds the crash-safe usage journal ("": none); docs/billing.md.
	UsageJournalDir          string
	UsageJournalSyncEvery    time.Duration
	UsageJournalSegmentBytes int64
	SessionMaxDevices        int
	CacheTTL                 time.Duration
	// UpstreamIdleTimeout is the longest an upstream's answer may stay silent after its headers.
	UpstreamIdleTimeout time.Duration
	// UpstreamClient is the upstream leg's HTTP client: "lean" (upstreamhttp) or "net/http".
	UpstreamClient string
	// HTTPServer is the public listener's HTTP server: "lean" (inbound) or "net/http".
	HTTPServer string
	// Identity (docs/auth.md): the public base URL (SSO redirect URIs, the WebAuthn relying
	// party and origin), the proxies whose X-Forwarded-For is believed, mail for e-mail codes,
	// the default OpenID provider, and the first administrator's password.
	PublicURL         string
	TrustedProxies    []*net.IPNet
	SMTPURL           string
	SMTPFrom          string
	OIDCIssuer        string
	OIDCClientID      string
	OIDCClientSecret  string
	AdminLoginInitKey string
	// Account pool (docs/pool.md).
	PoolErrorActions     string // POOL_ERROR_ACTIONS: rows tried before the default table, parsed by the pool (pool.ParseRules)
	PoolDefaultCooldown  time.Duration
	PoolMaxCooldown      time.Duration
	PoolStickyTTL        time.Duration
	PoolLeaseTTL         time.Duration
	PoolFailureThreshold int
	PoolProbeInterval    time.Duration
	PoolRetryBudget      time.Duration
	Version              string
	// Hooks (docs/hooks.md).
	OAuthURL, AuditLimitURL, NotifyURL string
	// AccountEventURL receives account events (an OAuth account needing re-authorization).
	AccountEventURL string
	// OAuthAccountProviders is the JSON of the OAuth clients for OAuth-based upstream accounts,
	// parsed by internal/accounts (accounts.ParseOAuthProviders).
	OAuthAccountProviders string
	HookTimeout           time.Duration
	HookFailOpen          bool
	// LimitsAllowances: admit calls far from their limits against allowances (limits.Config).
	LimitsAllowances bool
	// GCHeapFloor is the heap (bytes) Go's collector lets grow before collecting, at the least
	// (internal/gcfloor; 0: none).
	GCHeapFloor int64
	// HookUserToken is what hooks receive as userToken: `key`, `hash` or `user_id`.
	HookUserToken                            string
	HookSecret                               []byte
	OAuthCarID, OAuthNodeType, OAuthPlanType string
	// AllowPrivateOutbound lists the non-public addresses (CIDRs, IPs, host names) that remote
	// account sources and hooks may call (internal/netguard).
	AllowPrivateOutbound string
	// GuardChannelBaseURLs applies the outbound guard (with AllowPrivateOutbound as its allow
	// list) to channel base URLs too, when saved and when dialled.
	GuardChannelBaseURLs bool
	// DebugAddr is where Go's runtime profiles (/debug/pprof/) are served; empty: nowhere.
	DebugAddr string
	// Observability (docs/observability.md): /metrics on MetricsAddr (or the main port when only
	// MetricsToken is set), guarded by MetricsToken when set; OTLP traces when an endpoint is set.
	MetricsAddr, MetricsToken                         string
	OTelEndpoint, OTelTracesEndpoint, OTelServiceName string
}

// option describes one environment variable.
type option struct {
	name, def, help string
	secret          bool
}

// Options documents every variable, in the order the configuration reference lists them.
var Options = []option{
	{name: "PORT", def: "8080", help: "HTTP listen port."},
	{name: "APP_ENV", def: "production", help: "`development` or `production`. Development generates and persists missing secrets under DATA_DIR and logs as text."},
	{name: "DATABASE_URL", help: "PostgreSQL connection string. Required (`poolgate dev` finds or starts a local server when unset)."},
	{name: "REDIS_URL", help: "Redis URL (redis://host:6379/0; Redis 6.2 or later). Optional: without it sessions, revocations and caches live in process (one instance only)."},
	{name: "REDIS_ENABLE", help: "Seed 000's switch: `false` runs without Redis even when REDIS_URL is set; `true` uses REDIS_URL, else `redis://REDIS_HOST:REDIS_PORT/0`. Unset: Redis is used when REDIS_URL or REDIS_HOST is set."},
	{name: "REDIS_HOST", help: "Redis host, an alternative to REDIS_URL (seed 000): with REDIS_PORT it makes `redis://REDIS_HOST:REDIS_PORT/0`. Default 127.0.0.1 when REDIS_ENABLE=true."},
	{name: "REDIS_PORT", def: "6379", help: "Redis port used with REDIS_HOST."},
	{name: "REDIS_PREFIX", def: "poolgate:", help: "Prefix of every Redis key and channel."},
	{name: "LIMITS_ALLOWANCES", def: "true", help: "With Redis: each instance admits calls far from their limits and balances against allowances taken from Redis beforehand, and records them there within a batch (a few milliseconds) instead of a round trip before each upstream call; limits and the ledger stay exact across instances. `false` admits every call in Redis first. See [limits](limits.md#allowances)."},
	{name: "GC_HEAP_FLOOR", def: "67108864", help: "Bytes the heap may grow to before Go's garbage collector runs, at the least: a small heap (a gateway's is ~16 MiB under load) is collected at this size rather than each time it doubles, which took 9–12 % off the CPU per call under load for at most this much memory; a heap holding more than half of it is collected as with GOGC=100. `0` turns it off; GOGC set in the environment takes precedence. See [benchmarks](benchmarks.md)."},
	{name: "ENCRYPTION_KEY", secret: true, help: "32 random bytes in base64 (`openssl rand -base64 32`): encrypts upstream credentials at rest. Required in production."},
	{name: "JWT_SECRET", secret: true, help: "At least 32 characters: signs session JWTs. Required in production."},
	{name: "DATA_DIR", def: ".poolgate", help: "Where development mode keeps generated secrets and a private PostgreSQL cluster."},
	{name: "LOG_LEVEL", def: "info", help: "`debug`, `info`, `warn` or `error`."},
	{name: "LOG_FORMAT", help: "`json` or `text`; default json in production, text in development."},
	{name: "MAX_BODY_BYTES", def: "33554432", help: "Largest request body accepted (bytes)."},
	{name: "SHUTDOWN_TIMEOUT", def: "30s", help: "How long shutdown waits for open requests and streams."},
	{name: "UPSTREAM_TIMEOUT", def: "60s", help: "How long to wait for an upstream's response headers before trying another account (the wait may run up to 1/16 longer: a busy connection's deadline is moved once every 1/16 of it, not per request)."},
	{name: "UPSTREAM_IDLE_TIMEOUT", def: "5m", help: "Longest an upstream's answer may send nothing once its headers came (a stalled stream or body): the call then ends with a clean error in the caller's protocol (a stream's error event), charged for what was generated. The silence may run up to 1/16 longer (a stream's deadline is moved once every 1/16 of it, not per read)."},
	{name: "UPSTREAM_CLIENT", def: "lean", help: "HTTP client of the upstream leg: `lean` (Poolgate's own HTTP/1.1 client for plain-HTTP upstreams, with https, proxies and HTTP/2 through Go's `net/http`; less CPU per call, see [benchmarks](benchmarks.md)) or `net/http` (Go's client for every upstream)."},
	{name: "HTTP_SERVER", def: "lean", help: "HTTP server of the public listener: `lean` (Poolgate's own HTTP/1.1 server, `internal/inbound`: net/http's behaviour without its read-ahead goroutine and deadlines per request; a caller that leaves is noticed at a stream's next write, or within about 1.25 s while a call waits for its answer; less CPU per call, see [benchmarks](benchmarks.md)) or `net/http` (Go's server)."},
	{name: "MAX_ATTEMPTS", def: "3", help: "Upstream accounts tried per gateway call before giving up (1 disables failover)."},
	{name: "USAGE_BATCH_SIZE", def: "500", help: "Usage records written per database round trip."},
	{name: "USAGE_FLUSH_INTERVAL", def: "100ms", help: "Longest a usage record waits before it is written."},
	{name: "USAGE_QUEUE_SIZE", def: "20000", help: "Usage records buffered in memory; when full, callers wait (nothing is dropped)."},
	{name: "USAGE_JOURNAL_DIR", help: "Directory of the usage journal: every usage record is appended there (one write, no fsync) before its call's answer completes, and replayed at start if the process died before writing it to PostgreSQL (see [billing](billing.md#crash-safety)). Default `{DATA_DIR}/usage-journal`; `off` disables it (records then wait in memory only, up to USAGE_FLUSH_INTERVAL). Instances on one machine may share it: each appends to files of its own, locked."},
	{name: "USAGE_JOURNAL_SYNC_INTERVAL", def: "1s", help: "How often the usage journal is fsynced: what a power loss (not a process crash) can take."},
	{name: "USAGE_JOURNAL_SEGMENT_BYTES", def: "8388608", help: "Size at which the usage journal starts a new file; a file is deleted once all its records are in PostgreSQL."},
	{name: "SESSION_MAX_DEVICES", def: "5", help: "Sessions a user may hold at once; signing in once more ends the oldest (its cookie and its JWT alike, on every instance)."},
	{name: "CACHE_TTL", def: "60s", help: "Longest an in-process cache entry (keys, users, settings) lives without invalidation."},
	{name: "PUBLIC_URL", help: "The externally visible base URL (`https://gate.example.com`). SSO redirect URIs (`{PUBLIC_URL}/auth/callback`), the passkey relying party (its host, which must be a domain name such as `localhost`, not an IP address, for passkeys to work) and origin, and cookie-CSRF checks come from it. Default `http://localhost:{PORT}`."},
	{name: "TRUSTED_PROXIES", help: "Comma-separated CIDRs or addresses of reverse proxies whose `X-Forwarded-For` names the client (for per-IP sign-in limits and session lists). Unset: the connecting address is the client."},
	{name: "SMTP_URL", secret: true, help: "Mail server for e-mail codes: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465` (TLS). Unset: e-mail codes answer 503."},
	{name: "SMTP_FROM", help: "Sender of e-mail codes (`Poolgate <noreply@example.com>`). Default `noreply@` the host of PUBLIC_URL."},
	{name: "OIDC_ISSUER", help: "A default OpenID Connect provider (slug `oidc`), found by discovery at `{OIDC_ISSUER}/.well-known/openid-configuration`; with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET. More providers (GitHub, Linux.do, ...) are added through `/api/oidc-providers`."},
	{name: "OIDC_CLIENT_ID", help: "Client id at OIDC_ISSUER."},
	{name: "OIDC_CLIENT_SECRET", secret: true, help: "Client secret at OIDC_ISSUER (stored encrypted)."},
	{name: "ADMIN_API_LOGIN_INIT_KEY", secret: true, help: "When set and no administrator exists, start-up creates the administrator `admin` with this password (seed 000). `POST /api/setup` stays for interactive installs."},
	{name: "POOL_ERROR_ACTIONS", help: "Extra rows of the upstream error→action table, tried before the defaults: `STATUS[~body substring]=ACTION[:cooldown]` separated by `;` (e.g. `403~quota=cool_account:6h;418=retry`). STATUS is a number, `4xx`, `5xx` or `conn`; ACTION is `return`, `retry`, `cool`, `cool_account`, `reauth`, `ban` or `disable`. See [pool](pool.md)."},
	{name: "POOL_DEFAULT_COOLDOWN", def: "60s", help: "Cooldown of a `cool` rule without a duration when the upstream reports no reset time."},
	{name: "POOL_MAX_COOLDOWN", def: "24h", help: "Longest cooldown, whatever the upstream's reset headers say."},
	{name: "POOL_STICKY_TTL", def: "1h", help: "How long a sticky session stays bound to its account after its last call."},
	{name: "POOL_LEASE_TTL", def: "30m", help: "A concurrency slot not released within this time (its instance crashed) is freed."},
	{name: "POOL_FAILURE_THRESHOLD", def: "5", help: "Failures in a row (5xx, timeouts, connection errors) that disable an account until a probe passes; 0 never disables."},
	{name: "POOL_PROBE_INTERVAL", def: "5m", help: "How often accounts needing re-authentication or disabled after failures are probed (and put back when the probe passes); status monitors are checked on their own interval."},
	{name: "POOL_RETRY_BUDGET", def: "90s", help: "Longest time one gateway call spends failing over between accounts (with MAX_ATTEMPTS)."},
	{name: "OAUTH_URL", help: "Login-check hook (seed 000): when set, every token sign-in (`/logintoken`) is decided by `POST {OAUTH_URL}` and local token sign-in is off. The `oauth_url` setting overrides it at run time. See [hooks](hooks.md)."},
	{name: "AUDIT_LIMIT_URL", help: "Pre-chat audit hook: `POST {AUDIT_LIMIT_URL}` before each gateway call reaches an upstream; 200 passes, any other status blocks with the hook's status and body. The `audit_limit_url` setting overrides it."},
	{name: "NOTIFY_URL", help: "Post-chat notify hook: `POST {NOTIFY_URL}` after each successful gateway call, from a durable outbox with retries. The `notify_url` setting overrides it."},
	{name: "ACCOUNT_EVENT_URL", help: "Account event hook: `POST {ACCOUNT_EVENT_URL}` when an upstream account needs its owner (an OAuth account whose refresh the provider refused: `account.needs_reauth`), from the durable outbox with retries, signed like the other hooks. Unset: no events are sent (the account's state still shows it)."},
	{name: "OAUTH_ACCOUNT_PROVIDERS", secret: true, help: "OAuth clients for OAuth-based upstream accounts (users and administrators sign in to the provider instead of pasting a key): a JSON object by provider (`openai`, `anthropic`, `gemini`) of `client_id` (required to offer it) and optionally `client_secret` (for providers that want one, such as Google), `authorize_url`, `token_url`, `scopes`, `redirect_uri` (defaults: each provider's public endpoints; the redirect is `{PUBLIC_URL}/api/user/accounts/oauth/callback` unless the provider shows the code to paste, as Anthropic's does). E.g. `{\"anthropic\":{\"client_id\":\"9d1c250a-...\"}}`. See [accounts](accounts.md#oauth-onboarding)."},
	{name: "HOOK_TIMEOUT", def: "5s", help: "How long Poolgate waits for a hook's answer."},
	{name: "HOOK_FAIL_OPEN", def: "false", help: "`true` lets gateway calls through when the audit hook fails or times out (fail-open); `false` answers 503 (fail-closed). A failing login check always refuses."},
	{name: "HOOK_USER_TOKEN", def: "login", help: "What the audit and notify hooks receive as `userToken` (and `Authorization: Bearer`): `login` (default) sends back the token the login hook (OAUTH_URL) approved when the user signed in with it, else the SHA-256 of the caller's credential (lowercase hex), and a share link's authToken for share-link callers: no secret Poolgate issued leaves it; `hash` sends the SHA-256 of the credential; `user_id` the Poolgate user id; `key` (opt-in) the credential itself (the sk- API key), as seed 000 does. Share-link checks (`shareAuth/*`) always carry the authToken."},
	{name: "HOOK_SECRET", secret: true, help: "Signs every request Poolgate sends to a third party (hooks, share-link checks, remote-source fetches): `X-Poolgate-Signature: t=<unix>,v2=<hex HMAC-SHA256>` over the time, method, path, `Authorization`, `Carid` and body (openapi/hooks.yaml). Unset: requests are not signed."},
	{name: "OAUTH_CAR_ID", help: "`carid` sent with every login check."},
	{name: "OAUTH_NODE_TYPE", help: "`nodeType` sent with every login check (e.g. `pro`)."},
	{name: "OAUTH_PLAN_TYPE", help: "`planType` sent with every login check (e.g. `3`)."},
	{name: "ALLOW_PRIVATE_OUTBOUND", help: "Comma-separated CIDRs, IP addresses or host names (e.g. `127.0.0.0/8,hooks.internal`) that Poolgate may call although they are loopback, private or link-local: hooks, remote account sources, sign-in providers (OIDC issuers, OAuth token and userinfo URLs), upstream OAuth token URLs, outbound proxies, payment gateways and price lists. Unset: only public addresses are called, checked when saved and again when dialled (see docs/reliability.md). Channel base URLs are checked only with GUARD_CHANNEL_BASE_URLS=true."},
	{name: "GUARD_CHANNEL_BASE_URLS", def: "false", help: "`true` applies the outbound guard to channel base URLs as well: a base URL on a loopback, private or link-local address not named by ALLOW_PRIVATE_OUTBOUND is refused when saved (422) and when dialled (DNS rebinding). Off by default because a model server on the local network is a normal upstream; turn it on when administrators should not be able to make Poolgate call the internal network."},
	{name: "METRICS_ADDR", help: "`host:port` of a second listener serving Prometheus metrics at `/metrics` (without authentication unless METRICS_TOKEN is set). Unset: metrics are served on the main port, and only when METRICS_TOKEN is set. See [observability](observability.md)."},
	{name: "METRICS_TOKEN", secret: true, help: "Bearer token `/metrics` requires (`Authorization: Bearer <token>`). On the main port metrics are served only when it is set."},
	{name: "OTEL_EXPORTER_OTLP_ENDPOINT", help: "OpenTelemetry collector base URL (OTLP over HTTP, e.g. `http://otel-collector:4318`): each request becomes a span sent to `{url}/v1/traces`, continuing the caller's `traceparent`. The other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression) apply. Unset: no traces."},
	{name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", help: "Full URL traces are sent to, in place of `{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`."},
	{name: "OTEL_SERVICE_NAME", def: "poolgate", help: "`service.name` of the spans."},
	{name: "DEBUG_ADDR", help: "`host:port` of a second listener serving Go's runtime profiles under `/debug/pprof/` (CPU, heap, goroutines, mutex), for diagnosing a running instance: `go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10`. It also serves `/debug/forwarding`: histograms (JSON) of the streamed events' forwarding delay inside Poolgate, relayed and translated, measured only while `DEBUG_ADDR` is set (two clock reads per event). Unauthenticated: bind it to loopback or a private interface. Unset: off. `make bench` uses it (`poolbench -profile DIR`)."},
}

// Getenv reads one variable; tests pass a map lookup instead of os.Getenv.
type Getenv func(string) string

// Load reads the configuration. Variables ending in _FILE name a file holding the value
// (ENCRYPTION_KEY_FILE, JWT_SECRET_FILE, DATABASE_URL_FILE, REDIS_URL_FILE).
func Load(getenv Getenv) (*Config, error) {
	get := func(name string) (string, error) {
		if v := getenv(name); v != "" {
			return v, nil
		}
		if f := getenv(name + "_FILE"); f != "" {
			b, err := os.ReadFile(f) //nolint:gosec // the path is the operator's own setting
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", name, err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		for _, o := range Options {
			if o.name == name {
				return o.def, nil
			}
		}
		return "", nil
	}
	var errs []error
	str := func(name string) string {
		v, err := get(name)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	integer := func(name string, lo, hi int64) int64 {
		s := str(name)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s must be a whole number from %d to %d, got %q", name, lo, hi, s))
		}
		return n
	}
	duration := func(name string) time.Duration {
		s := str(name)
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration such as 30s, got %q", name, s))
		}
		return d
	}
	boolean := func(name string) bool {
		switch v := strings.ToLower(str(name)); v {
		case "true", "1", "yes":
			return true
		case "false", "0", "no", "":
		default:
			errs = append(errs, fmt.Errorf("%s must be true or false, got %q", name, v))
		}
		return false
	}
	c := &Config{
		Port:                     int(integer("PORT", 1, 65535)),
		AppEnv:                   str("APP_ENV"),
		DatabaseURL:              str("DATABASE_URL"),
		RedisURL:                 redisURL(str, integer, &errs),
		RedisPrefix:              str("REDIS_PREFIX"),
		DataDir:                  str("DATA_DIR"),
		LogLevel:                 strings.ToLower(str("LOG_LEVEL")),
		LogFormat:                strings.ToLower(str("LOG_FORMAT")),
		MaxBodyBytes:             integer("MAX_BODY_BYTES", 1024, 1<<31),
		ShutdownTimeout:          duration("SHUTDOWN_TIMEOUT"),
		UpstreamTimeout:          duration("UPSTREAM_TIMEOUT"),
		MaxAttempts:              int(integer("MAX_ATTEMPTS", 1, 10)),
		UsageBatchSize:           int(integer("USAGE_BATCH_SIZE", 1, 10000)),
		UsageFlushEvery:          duration("USAGE_FLUSH_INTERVAL"),
		UsageQueueSize:           int(integer("USAGE_QUEUE_SIZE", 1, 10_000_000)),
		UsageJournalSyncEvery:    duration("USAGE_JOURNAL_SYNC_INTERVAL"),
		UsageJournalSegmentBytes: integer("USAGE_JOURNAL_SEGMENT_BYTES", 64<<10, 1<<34),
		SessionMaxDevices:        int(integer("SESSION_MAX_DEVICES", 1, 1000)),
		CacheTTL:                 duration("CACHE_TTL"),
		Version:                  "0.1.0",
	}
	switch v := str("USAGE_JOURNAL_DIR"); v {
	case "off":
	case "":
		c.UsageJournalDir = filepath.Join(c.DataDir, "usage-journal")
	default:
		c.UsageJournalDir = v
	}
	c.UpstreamIdleTimeout = duration("UPSTREAM_IDLE_TIMEOUT")
	switch v := strings.ToLower(str("UPSTREAM_CLIENT")); v {
	case "lean", "net/http":
		c.UpstreamClient = v
	default:
		errs = append(errs, fmt.Errorf("UPSTREAM_CLIENT must be lean or net/http, got %q", v))
	}
	switch v := strings.ToLower(str("HTTP_SERVER")); v {
	case "lean", "net/http":
		c.HTTPServer = v
	default:
		errs = append(errs, fmt.Errorf("HTTP_SERVER must be lean or net/http, got %q", v))
	}
	c.loadIdentity(str, &errs)
	c.OAuthURL, c.AuditLimitURL, c.NotifyURL = str("OAUTH_URL"), str("AUDIT_LIMIT_URL"), str("NOTIFY_URL")
	c.AccountEventURL, c.OAuthAccountProviders = str("ACCOUNT_EVENT_URL"), str("OAUTH_ACCOUNT_PROVIDERS")
	c.HookTimeout = duration("HOOK_TIMEOUT")
	c.HookFailOpen = boolean("HOOK_FAIL_OPEN")
	c.LimitsAllowances = boolean("LIMITS_ALLOWANCES")
	c.GCHeapFloor = integer("GC_HEAP_FLOOR", 0, 1<<40)
	switch v := strings.ToLower(str("HOOK_USER_TOKEN")); v {
	case "login", "key", "hash", "user_id":
		c.HookUserToken = v
	default:
		errs = append(errs, fmt.Errorf("HOOK_USER_TOKEN must be login, key, hash or user_id, got %q", v))
	}
	if v := str("HOOK_SECRET"); v != "" {
		c.HookSecret = []byte(v)
	}
	c.OAuthCarID, c.OAuthNodeType, c.OAuthPlanType = str("OAUTH_CAR_ID"), str("OAUTH_NODE_TYPE"), str("OAUTH_PLAN_TYPE")
	c.AllowPrivateOutbound = str("ALLOW_PRIVATE_OUTBOUND")
	if _, err := netguard.New(c.AllowPrivateOutbound); err != nil {
		errs = append(errs, err)
	}
	c.GuardChannelBaseURLs = boolean("GUARD_CHANNEL_BASE_URLS")
	if c.DebugAddr = str("DEBUG_ADDR"); c.DebugAddr != "" {
		if _, port, err := net.SplitHostPort(c.DebugAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("DEBUG_ADDR must be host:port such as 127.0.0.1:6060, got %q", c.DebugAddr))
		}
	}
	if c.MetricsAddr = str("METRICS_ADDR"); c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("METRICS_ADDR must be host:port such as 127.0.0.1:9090, got %q", c.MetricsAddr))
		}
	}
	c.MetricsToken = str("METRICS_TOKEN")
	c.OTelEndpoint, c.OTelTracesEndpoint = str("OTEL_EXPORTER_OTLP_ENDPOINT"), str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	c.OTelServiceName = str("OTEL_SERVICE_NAME")
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.OTelEndpoint, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": c.OTelTracesEndpoint} {
		if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			errs = append(errs, fmt.Errorf("%s must be an http or https URL, got %q", name, v))
		}
	}
	c.PoolErrorActions = str("POOL_ERROR_ACTIONS")
	c.PoolDefaultCooldown = duration("POOL_DEFAULT_COOLDOWN")
	c.PoolMaxCooldown = duration("POOL_MAX_COOLDOWN")
	c.PoolStickyTTL = duration("POOL_STICKY_TTL")
	c.PoolLeaseTTL = duration("POOL_LEASE_TTL")
	c.PoolFailureThreshold = int(integer("POOL_FAILURE_THRESHOLD", 0, 1000))
	c.PoolProbeInterval = duration("POOL_PROBE_INTERVAL")
	c.PoolRetryBudget = duration("POOL_RETRY_BUDGET")
	if c.AppEnv != EnvDevelopment && c.AppEnv != EnvProduction {
		errs = append(errs, fmt.Errorf("APP_ENV must be %q or %q, got %q", EnvDevelopment, EnvProduction, c.AppEnv))
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if c.AppEnv == EnvDevelopment {
			c.LogFormat = "text"
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT must be json or text, got %q", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel))
	}
	if s := str("ENCRYPTION_KEY"); s != "" {
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(k) != 32 {
			errs = append(errs, errors.New("ENCRYPTION_KEY must be 32 random bytes in base64 (openssl rand -base64 32)"))
		}
		c.EncryptionKey = k
	}
	if s := str("JWT_SECRET"); s != "" {
		if len(s) < 32 {
			errs = append(errs, errors.New("JWT_SECRET must be at least 32 characters"))
		}
		c.JWTSecret = []byte(s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks what Load cannot: required values for the environment. In development, missing
// secrets are generated once and kept in DATA_DIR/secrets.json so restarts keep sessions and
// credentials readable.
func (c *Config) Validate() error {
	var errs []error
	if c.AppEnv == EnvDevelopment && (c.EncryptionKey == nil || c.JWTSecret == nil) {
		if err := c.devSecrets(); err != nil {
			errs = append(errs, err)
		}
	}
	// In development a failure to generate the secrets is reported above, with its cause.
	if c.EncryptionKey == nil && c.AppEnv != EnvDevelopment {
		errs = append(errs, errors.New("ENCRYPTION_KEY is required in production (openssl rand -base64 32)"))
	}
	if c.JWTSecret == nil && c.AppEnv != EnvDevelopment {
		errs = append(errs, errors.New("JWT_SECRET is required in production (32+ characters)"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (postgres://user:pass@host:5432/db)"))
	}
	return errors.Join(errs...)
}

type devSecretFile struct {
	EncryptionKey string `json:"encryption_key"`
	JWTSecret     string `json:"jwt_secret"`
}

func (c *Config) devSecrets() error {
	path := filepath.Join(c.DataDir, "secrets.json")
	var f devSecretFile
	if b, err := os.ReadFile(path); err == nil { //nolint:gosec // DATA_DIR is the operator's own setting
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	changed := false
	if f.EncryptionKey == "" {
		f.EncryptionKey = base64.StdEncoding.EncodeToString(random(32))
		changed = true
	}
	if f.JWTSecret == "" {
		f.JWTSecret = base64.RawURLEncoding.EncodeToString(random(48))
		changed = true
	}
	if changed {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", c.DataDir, err)
		}
		b, _ := json.Marshal(f) //nolint:gosec // development secrets are persisted on purpose, mode 0600
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if c.EncryptionKey == nil {
		k, err := base64.StdEncoding.DecodeString(f.EncryptionKey)
		if err != nil || len(k) != 32 {
			return fmt.Errorf("%s holds an invalid encryption_key", path)
		}
		c.EncryptionKey = k
	}
	if c.JWTSecret == nil {
		c.JWTSecret = []byte(f.JWTSecret)
	}
	return nil
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Redacted lists the configuration for logging, secrets replaced by "set" or "unset".
func (c *Config) Redacted() []any {
	mark := func(b []byte) string {
		if b == nil {
			return "unset"
		}
		return "set"
	}
	return []any{
		"port", c.Port, "app_env", c.AppEnv, "database_url", redactURL(c.DatabaseURL),
		"redis_url", redactURL(c.RedisURL), "encryption_key", mark(c.EncryptionKey),
		"jwt_secret", mark(c.JWTSecret), "max_body_bytes", c.MaxBodyBytes, "max_attempts", c.MaxAttempts,
		"oauth_url", c.OAuthURL != "", "audit_limit_url", c.AuditLimitURL != "", "notify_url", c.NotifyURL != "", "account_event_url", c.AccountEventURL != "",
		"hook_secret", mark(c.HookSecret), "hook_fail_open", c.HookFailOpen, "hook_user_token", c.HookUserToken,
		"metrics_addr", c.MetricsAddr, "metrics_token", c.MetricsToken != "", "otel_traces", c.OTelEndpoint != "" || c.OTelTracesEndpoint != "",
		"public_url", c.PublicURL, "smtp_url", redactURL(c.SMTPURL), "oidc_issuer", c.OIDCIssuer,
		"oidc_client_secret", markString(c.OIDCClientSecret), "admin_api_login_init_key", markString(c.AdminLoginInitKey),
	}
}

// passwordParam matches a password given as a URL query parameter (`?password=...`) or in a
// keyword/value connection string (`password=... ` or `password='...'`), sslpassword included.
var passwordParam = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)`)

// redactURL hides the passwords of a connection string: the URL's userinfo password and any
// password parameter or keyword.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	s = passwordParam.ReplaceAllString(s, "${1}***")
	at := strings.LastIndex(s, "@")
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	userinfo := s[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return s[:scheme+3] + userinfo[:i] + ":***" + s[at:]
	}
	return s
}
