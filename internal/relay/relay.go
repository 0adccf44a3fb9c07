// Package relay is the gateway's hot path, free of any web framework: it resolves API keys from
// an in-process cache, picks upstream accounts from an in-memory routing snapshot, relays or
// translates calls (streams event by event), fails over before the first byte, and meters usage
// through the batched recorder. The HTTP layer (internal/api/gateway) authenticates, hands each
// call over as a Call with its http.ResponseWriter and *http.Request, and renders the faults
// Serve returns in the caller's protocol's shape.
package relay

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/quota"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/translate"
	"github.com/poolgate/poolgate/internal/upstreamhttp"
)

// Deps are the relay's collaborators and limits.
type Deps struct {
	Pool            *pgxpool.Pool
	Queries         *db.Queries
	Bus             *bus.Bus
	Settings        *settings.Store
	Box             *secretbox.Box
	Usage           *billing.Recorder
	Log             *slog.Logger
	CacheTTL        time.Duration
	UpstreamTimeout time.Duration
	// UpstreamIdleTimeout bounds the silence of an upstream's answer body once its headers came:
	// an answer that sends nothing for this long is cut (0: no bound).
	UpstreamIdleTimeout time.Duration
	MaxAttempts         int
	MaxBodyBytes        int64
	// Accounts schedules upstream accounts (selection, cooldowns, health); RetryBudget bounds
	// the total time spent trying accounts for one call (0: no bound beyond MaxAttempts).
	Accounts    *pool.Pool
	RetryBudget time.Duration
	// Limits counts calls against the limit rules of LimitRules (nil: no limits).
	Limits     *limits.Limiter
	LimitRules *limits.Rules
	// Quota is the shared quota pool: calls on shared accounts consume it (nil: none).
	Quota *quota.Pool
	// Hooks are the audit, notify and share-link hooks (nil: none).
	Hooks Hooks
	// Transport overrides the upstream transport (nil: the lean client over NewTransport).
	Transport http.RoundTripper
	// OAuth refreshes OAuth accounts' access tokens (nil: they are used as stored).
	OAuth *oauth.Refresher
	// Forwarding measures streamed events' forwarding delay (Forwarding): two clock reads and a
	// shared counter per event, for diagnosis and benchmarks (DEBUG_ADDR serves it).
	Forwarding bool
}

// Relay serves gateway calls.
type Relay struct {
	d       Deps
	keys    *keyCache
	routes  *routeTable
	client  *http.Client
	bufs    sync.Pool // *[]byte request and response bodies
	readers sync.Pool // *bufio.Reader for streams
	calls   sync.Pool // *call: a call's state is over a kilobyte, allocated on every call otherwise

	counterOnce sync.Once
	counter     *translate.Counter // offline tokenizer, loaded on first use (tokens)

	inflight atomic.Int64 // gateway calls being served

	fwdRelayed, fwdTranslated latencyHist // streamed events' forwarding delay (forwarding.go)
}

// InFlight counts gateway calls being served (their usage may not be queued yet).
func (rl *Relay) InFlight() int64 { return rl.inflight.Load() }

// New builds the relay and loads its routing snapshot.
func New(ctx context.Context, d Deps) (*Relay, error) {
	if d.MaxAttempts < 1 {
		d.MaxAttempts = 1
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 32 << 20
	}
	if d.Accounts == nil {
		d.Accounts = pool.New(pool.Deps{DB: d.Pool, Queries: d.Queries, Box: d.Box, Bus: d.Bus, Log: d.Log})
	}
	rl := &Relay{
		d:      d,
		keys:   newKeyCache(d.Pool, d.Queries, d.Bus, d.CacheTTL),
		routes: newRouteTable(d.Pool, d.Queries, d.Box, d.Bus, d.Log, d.CacheTTL, d.Accounts),
	}
	tr := d.Transport
	if tr == nil {
		// Plain-HTTP upstreams go through the lean client; https, proxies and the rest through
		// net/http's transport (upstreamhttp's package comment says why).
		tr = upstreamhttp.New(NewTransport(d.UpstreamTimeout))
	}
	rl.routes.proxies, rl.routes.direct = d.Accounts.Proxies(), tr
	rl.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	d.Usage.OnFlush = func(recs []billing.Record) {
		for i := range recs {
			rl.keys.settled(recs[i].UserID, recs[i].Quota)
		}
	}
	if _, err := rl.routes.get(ctx); err != nil {
		return nil, err
	}
	return rl, nil
}

// NewTransport is the upstream transport: many warm connections per upstream host (Go's default
// keeps 2), a bound on the wait for response headers, and no transparent compression so bodies
// pass through as the upstream sent them.
func NewTransport(headerTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       8 << 10,
		ReadBufferSize:        8 << 10,
	}
}

// Close releases idle upstream connections.
func (rl *Relay) Close() {
	rl.client.CloseIdleConnections()
	rl.routes.proxies.CloseIdleConnections()
}
