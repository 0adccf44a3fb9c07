// Package app is Poolgate's composition root: it opens the database and Redis, builds the
// services, and mounts each contract's generated routes with its own validator and auth.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/accounts"
	authh "github.com/poolgate/poolgate/internal/api/auth"
	gatewayh "github.com/poolgate/poolgate/internal/api/gateway"
	"github.com/poolgate/poolgate/internal/api/public"
	"github.com/poolgate/poolgate/internal/api/seed001"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/gcfloor"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/inbound"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/metrics"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/passkey"
	"github.com/poolgate/poolgate/internal/payment"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/quota"
	"github.com/poolgate/poolgate/internal/relay"
	"github.com/poolgate/poolgate/internal/remote"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/sso"
	"github.com/poolgate/poolgate/internal/store"
	"github.com/poolgate/poolgate/internal/telemetry"
	"github.com/poolgate/poolgate/internal/upstreamhttp"
)

// Options adjust an App for tests and development.
type Options struct {
	// BcryptCost overrides the password hashing cost (tests use a low one; 0 means 12).
	BcryptCost int
	// Now overrides the clock.
	Now func() time.Time
	// Extra mounts additional handlers (the development echo upstream).
	Extra func(e *echo.Echo)
	// Ready runs after the app has started and before it listens (development bootstrap).
	Ready func(ctx context.Context, a *App) error
	// Listener, when set, is where Serve accepts connections instead of PORT (tests serving
	// several instances on ports of their own).
	Listener net.Listener
}

// App is a running Poolgate instance's parts.
type App struct {
	Cfg      *config.Config
	Log      *slog.Logger
	Pool     *pgxpool.Pool
	Redis    redis.UniversalClient
	Queries  *db.Queries
	Bus      *bus.Bus
	Settings *settings.Store
	Auth     *auth.Service
	Box      *secretbox.Box
	Usage    *billing.Recorder
	// Relay serves gateway calls (the hot path); the gateway contract's handlers call it.
	Relay *relay.Relay
	// Accounts is the account pool: selection state, health, probes and status monitors.
	Accounts *pool.Pool
	// OAuth refreshes OAuth accounts' access tokens, once across instances; OAuthProviders are
	// the OAuth clients accounts are onboarded with (OAUTH_ACCOUNT_PROVIDERS).
	OAuth          *oauth.Refresher
	OAuthProviders map[string]accounts.OAuthProvider
	// Remote imports remote accounts and runs scheduled source syncs.
	Remote *remote.Service
	// Hooks calls the third-party hooks and delivers the notify outbox.
	Hooks *hook.Service
	// Limits counts gateway calls against the limit rules of LimitRules (docs/limits.md).
	Limits     *limits.Limiter
	LimitRules *limits.Rules
	// Quota is the shared quota pool (docs/accounts.md).
	Quota *quota.Pool
	// Payments opens top-up orders and handles the payment gateways' notifies.
	Payments *payment.Service
	Echo     *echo.Echo
	// Guard refuses outbound fetches to private addresses unless ALLOW_PRIVATE_OUTBOUND allows them.
	Guard *netguard.Guard
	// Metrics are served at /metrics (or on METRICS_ADDR); Tracing sends spans when OTLP is configured.
	Metrics *metrics.Metrics
	Tracing *telemetry.Tracing

	// Identity: single-use values (SSO states, passkey ceremonies; in Redis when configured),
	// single sign-on and passkeys.
	Ephemeral auth.Ephemeral
	SSO       *sso.Service
	Passkeys  *passkey.Service

	journal *billing.Journal
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New builds an App: connects, migrates, loads caches and mounts the routes. Start runs its
// background work; Close releases everything.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) (_ *App, err error) {
	log = httpx.ContextLogger(log) // request_id and operation_id on every line logged with a request's context
	a := &App{Cfg: cfg, Log: log, Queries: db.New()}
	defer func() {
		if err != nil {
			a.closeConns()
		}
	}()
	if a.Pool, err = store.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if err = store.Migrate(ctx, a.Pool); err != nil {
		return nil, err
	}
	if cfg.RedisURL != "" {
		if a.Redis, err = redisClient(cfg.RedisURL); err != nil {
			return nil, err
		}
		if err = a.Redis.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("connect to redis: %w", err)
		}
		if err = checkRedisVersion(ctx, a.Redis); err != nil {
			return nil, err
		}
	}
	a.Bus = bus.New(a.Redis, cfg.RedisPrefix, log)
	sd := settings.Defaults()
	sd.OAuthURL, sd.AuditLimitURL, sd.NotifyURL = cfg.OAuthURL, cfg.AuditLimitURL, cfg.NotifyURL
	a.Settings = settings.NewWithDefaults(a.Pool, a.Queries, a.Bus, sd)
	if err = a.Settings.Load(ctx); err != nil {
		return nil, err
	}
	if a.Box, err = secretbox.New(cfg.EncryptionKey); err != nil {
		return nil, err
	}
	if err = a.openUsage(ctx, cfg, log); err != nil {
		return nil, err
	}
	guard, err := netguard.New(cfg.AllowPrivateOutbound)
	if err != nil {
		return nil, err
	}
	a.Guard = guard
	if err = a.identity(ctx, cfg, opt, guard); err != nil {
		return nil, err
	}
	a.Remote = remote.New(remote.Config{Pool: a.Pool, Queries: a.Queries, Box: a.Box, Guard: guard, Log: log, Now: opt.Now,
		Secret:  cfg.HookSecret,
		Changed: func(ctx context.Context) { a.Bus.Publish(ctx, bus.TopicRoutes, "") }})
	a.Hooks = hook.New(hook.Config{
		URLs: func() hook.URLs {
			v := a.Settings.Get()
			return hook.URLs{OAuth: v.OAuthURL, Audit: v.AuditLimitURL, Notify: v.NotifyURL, AccountEvent: cfg.AccountEventURL}
		},
		Timeout: cfg.HookTimeout, FailOpen: cfg.HookFailOpen, UserToken: cfg.HookUserToken, Secret: cfg.HookSecret, Guard: guard,
		QuotaPerUnit: func() int64 { return a.Settings.Get().QuotaPerUnit },
		CarID:        cfg.OAuthCarID, NodeType: cfg.OAuthNodeType, PlanType: cfg.OAuthPlanType, Now: opt.Now,
	}, a.Pool, a.Queries, a.Box, log)
	var poolStore pool.Store = pool.NewMemoryStore()
	if a.Redis != nil {
		poolStore = pool.NewRedisStore(a.Redis, cfg.RedisPrefix)
	}
	poolRules, err := pool.ConfiguredRules(cfg.PoolErrorActions)
	if err != nil {
		return nil, fmt.Errorf("POOL_ERROR_ACTIONS: %w", err)
	}
	a.Accounts = pool.New(pool.Deps{DB: a.Pool, Queries: a.Queries, Box: a.Box, Bus: a.Bus, Store: poolStore,
		Log: log, Now: opt.Now, Client: &http.Client{Transport: upstreamTransport(cfg, guard), Timeout: 30 * time.Second},
		Proxies: egress.New(func() *http.Transport {
			// An outbound proxy (an administrator's or a user's) is an outbound address like any other.
			tr := relay.NewTransport(cfg.UpstreamTimeout)
			tr.DialContext = guard.DialContext
			return tr
		}, 0),
		Config: pool.Config{Rules: poolRules, DefaultCooldown: cfg.PoolDefaultCooldown, MaxCooldown: cfg.PoolMaxCooldown,
			StickyTTL: cfg.PoolStickyTTL, LeaseTTL: cfg.PoolLeaseTTL, FailureThreshold: cfg.PoolFailureThreshold,
			ProbeInterval: cfg.PoolProbeInterval}})
	if err = a.Accounts.Load(ctx); err != nil {
		return nil, fmt.Errorf("load account cooldowns: %w", err)
	}
	a.Limits = limits.New(limits.Config{Redis: a.Redis, Prefix: cfg.RedisPrefix, Log: log, Now: opt.Now,
		NoAllowances: !cfg.LimitsAllowances})
	a.LimitRules = limits.NewRules(a.Pool, a.Queries, a.Bus, log)
	if err = a.LimitRules.Load(ctx); err != nil {
		return nil, fmt.Errorf("load limit rules: %w", err)
	}
	a.Quota = quota.New(quota.Config{DB: a.Pool, Queries: a.Queries, Settings: a.Settings, Bus: a.Bus, Redis: a.Redis,
		Prefix: cfg.RedisPrefix, Log: log, Now: opt.Now})
	if a.OAuthProviders, err = accounts.ParseOAuthProviders(cfg.OAuthAccountProviders); err != nil {
		return nil, err
	}
	a.OAuth = &oauth.Refresher{DB: a.Pool, Queries: a.Queries, Box: a.Box, Redis: a.Redis, Prefix: cfg.RedisPrefix,
		Guard: guard, Proxies: a.Accounts.Proxies(), Pool: a.Accounts, Bus: a.Bus, Log: log, Now: opt.Now,
		OnRefused: func(_ context.Context, account int64) { a.Hooks.AccountNeedsReauth(account) }}
	// The upstream leg: the lean HTTP/1.1 client over Go's transport (which it hands https,
	// proxies and unknown-length bodies), or Go's alone; both dial through the guard when
	// GUARD_CHANNEL_BASE_URLS is on.
	var upstream http.RoundTripper = upstreamhttp.New(upstreamTransport(cfg, guard))
	if cfg.UpstreamClient == "net/http" {
		upstream = upstreamTransport(cfg, guard)
	}
	a.Relay, err = relay.New(ctx, relay.Deps{
		Pool: a.Pool, Queries: a.Queries, Bus: a.Bus, Settings: a.Settings, Box: a.Box, Usage: a.Usage,
		Log: log, CacheTTL: cfg.CacheTTL, UpstreamTimeout: cfg.UpstreamTimeout, UpstreamIdleTimeout: cfg.UpstreamIdleTimeout,
		MaxAttempts: cfg.MaxAttempts, MaxBodyBytes: cfg.MaxBodyBytes,
		Accounts: a.Accounts, RetryBudget: cfg.PoolRetryBudget, Hooks: a.Hooks,
		Limits: a.Limits, LimitRules: a.LimitRules, Quota: a.Quota, OAuth: a.OAuth, Transport: upstream,
		Forwarding: cfg.DebugAddr != "", // served there only
	})
	if err != nil {
		return nil, err
	}
	a.Payments = &payment.Service{Pool: a.Pool, Queries: a.Queries, Settings: a.Settings, Box: a.Box, Bus: a.Bus, Log: log,
		PublicURL: cfg.PublicURL, Now: opt.Now}
	a.observability(ctx)
	if a.Tracing, err = telemetry.Setup(ctx, telemetry.Config{Endpoint: cfg.OTelEndpoint,
		TracesEndpoint: cfg.OTelTracesEndpoint, ServiceName: cfg.OTelServiceName, Version: cfg.Version}); err != nil {
		return nil, err
	}
	a.Echo = a.routes(opt)
	return a, nil
}

// Start runs the background work (invalidation listener, usage writer, scheduled remote syncs, ...)
// until Close.
func (a *App) Start(ctx context.Context) {
	ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.wg.Add(3)
	go func() { defer a.wg.Done(); a.Remote.Run(ctx) }()
	go func() { defer a.wg.Done(); a.Bus.Run(ctx) }()
	go func() { defer a.wg.Done(); a.Usage.Run(ctx) }()
	a.wg.Add(2)
	go func() { defer a.wg.Done(); a.Accounts.Run(ctx) }()
	go func() { defer a.wg.Done(); a.Limits.Run(ctx) }() // renews this instance's reservations
	a.Hooks.Run(ctx)
	<-a.Bus.Ready()
}

// Close stops background work, writes every queued usage record, and closes connections.
func (a *App) Close(ctx context.Context) {
	if a.Usage != nil {
		a.Usage.Close(ctx)
	}

	if a.Hooks != nil {
		a.Hooks.Close() // queued notifications reach the outbox before shutdown
	}
	if a.Auth != nil {
		a.Auth.Close() // e-mail codes being sent
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.Limits != nil {
		a.Limits.Flush(ctx) // the releases of the last calls reach Redis before it is closed
	}
	a.Relay.Close()
	a.Remote.Close()
	if a.Tracing != nil {
		if err := a.Tracing.Shutdown(ctx); err != nil {
			a.Log.Warn("traces not all sent at shutdown", "error", err)
		}
	}
	a.closeConns()
}

func (a *App) closeConns() {
	if a.journal != nil {
		a.journal.Close() // after the recorder: what it could not write stays for the next start
	}
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
	if a.Pool != nil {
		a.Pool.Close()
	}
}

// Serve runs the HTTP server until ctx ends, then shuts down gracefully: it stops accepting,
// lets open requests and streams finish within SHUTDOWN_TIMEOUT, then stops background work and
// closes the pools.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, opt Options) error {
	defer gcfloor.Start(uint64(cfg.GCHeapFloor))()
	a, err := New(ctx, cfg, log, opt)
	if err != nil {
		return err
	}
	a.Start(ctx)
	if opt.Ready != nil {
		if err := opt.Ready(ctx, a); err != nil {
			a.Close(context.WithoutCancel(ctx))
			return err
		}
	}
	srv := NewServer(cfg, a.Echo, log)
	addr := fmt.Sprintf(":%d", cfg.Port)
	ln := opt.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", addr); err != nil {
			a.Close(context.WithoutCancel(ctx))
			return err
		}
	}
	addr = ln.Addr().String()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.MetricsAddr != "" {
		ms := &http.Server{Addr: cfg.MetricsAddr, Handler: a.metricsMux(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := ms.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("METRICS_ADDR: %w", err)
			}
		}()
		defer func() { _ = ms.Close() }()
		log.Info("metrics served", "addr", cfg.MetricsAddr, "path", "/metrics")
	}
	var debug *http.Server
	if cfg.DebugAddr != "" {
		debug = debugServer(cfg.DebugAddr, a.Relay)
		go func() {
			if err := debug.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("DEBUG_ADDR: %w", err)
			}
		}()
		log.Info("runtime profiles served", "addr", cfg.DebugAddr, "path", "/debug/pprof/")
	}
	log.Info("poolgate listening", append([]any{"addr", addr}, cfg.Redacted()...)...)
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	if debug != nil {
		_ = debug.Close()
	}
	if serr := srv.Shutdown(sctx); serr != nil {
		log.Warn("shutdown did not finish in time", "error", serr)
	}
	a.Close(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Server is the HTTP server of the public listener (HTTP_SERVER), serving h: Poolgate's own
// (inbound: net/http's behaviour without its per-request read-ahead goroutine and deadlines) or
// net/http's.
type Server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// NewServer is the public listener's server for cfg, serving h.
func NewServer(cfg *config.Config, h http.Handler, log *slog.Logger) Server {
	const readHeader, idle, maxHeader = 10 * time.Second, 120 * time.Second, 1 << 20
	if cfg.HTTPServer == "net/http" {
		return &http.Server{Handler: h, ReadHeaderTimeout: readHeader, IdleTimeout: idle, MaxHeaderBytes: maxHeader}
	}
	return &inbound.Server{Handler: h, ReadHeaderTimeout: readHeader, IdleTimeout: idle, MaxHeaderBytes: maxHeader, Log: log}
}

// debugServer serves Go's runtime profiles (net/http/pprof) and the streamed events' forwarding
// delays (/debug/forwarding, relay.ForwardingStats as JSON) on a listener of its own, never on
// the public one.
func debugServer(addr string, gw *relay.Relay) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/forwarding", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(gw.Forwarding())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// routes mounts every contract.
func (a *App) routes(opt Options) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(a.Log, append(append(append(gatewayh.ErrorShapes(), public.ShareShapes()...),
		authh.CallbackShapes()...), seed001.ErrorShapes()...)...)
	e.IPExtractor = ipExtractor(a.Cfg.TrustedProxies)
	// The caller's address goes into the request context with the request id (one copy of the
	// request for both, see clientInfo).
	// The server-wide middleware, composed once (httpx.Chain): this is the only Echo.Use.
	e.Use(httpx.Chain(httpx.RequestIDWith(httpx.NewIDGen(), clientInfo), a.observe(a.Tracing.Tracer), httpx.AccessLog(a.Log), httpx.Recover(a.Log), httpx.CleanPath))
	a.mountMetrics(e)
	a.mountContracts(e)
	(&gatewayh.Handler{Relay: a.Relay, Auth: a.Auth}).Mount(e)
	mountDocs(e)
	mountApp(e)
	if opt.Extra != nil {
		opt.Extra(e)
	}
	return e
}

// bodyLimit bounds management request bodies.
func bodyLimit(n int64) echo.MiddlewareFunc {
	return echomw.BodyLimitWithConfig(echomw.BodyLimitConfig{Limit: fmt.Sprintf("%dB", n)})
}

// upstreamTransport is the transport to channel base URLs. With GUARD_CHANNEL_BASE_URLS it dials
// through the outbound guard: the check runs on the address actually connected to, so a base URL
// whose name resolves to a private address only after it was saved (DNS rebinding) is refused
// when connecting, as it is when saved. Redirects are never followed to begin with.
func upstreamTransport(cfg *config.Config, guard *netguard.Guard) *http.Transport {
	tr := relay.NewTransport(cfg.UpstreamTimeout)
	if cfg.GuardChannelBaseURLs {
		tr.DialContext = guard.DialContext
	}
	return tr
}
