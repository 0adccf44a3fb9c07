// Package gateway is the hot path: it authenticates API keys from an in-process cache, picks
// upstream accounts from an in-memory routing snapshot, relays calls (streams event by event),
// fails over before the first byte, and meters usage through the batched recorder.
package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/translate"
)

// Deps are the gateway's collaborators and limits.
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
	MaxAttempts     int
	MaxBodyBytes    int64
	// Accounts schedules upstream accounts (selection, cooldowns, health); RetryBudget bounds
	// the total time spent trying accounts for one call (0: no bound beyond MaxAttempts).
	Accounts    *pool.Pool
	RetryBudget time.Duration
	// Hooks are the audit, notify and share-link hooks (nil: none).
	Hooks Hooks
	// Transport overrides the upstream transport (tests).
	Transport http.RoundTripper
}

// Gateway serves the gateway contract.
type Gateway struct {
	d       Deps
	keys    *keyCache
	routes  *routeTable
	client  *http.Client
	bufs    sync.Pool // *[]byte request and response bodies
	readers sync.Pool // *bufio.Reader for streams

	counterOnce sync.Once
	counter     *translate.Counter // offline tokenizer, loaded on first use (tokens)

	inflight atomic.Int64 // gateway calls being served

	fwdRelayed, fwdTranslated latencyHist // streamed events' forwarding delay (forwarding.go)
}

// InFlight counts gateway calls being served (their usage may not be queued yet).
func (g *Gateway) InFlight() int64 { return g.inflight.Load() }

var _ gatewayapi.ServerInterface = (*Gateway)(nil)

// New builds the gateway and loads its routing snapshot.
func New(ctx context.Context, d Deps) (*Gateway, error) {
	if d.MaxAttempts < 1 {
		d.MaxAttempts = 1
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 32 << 20
	}
	if d.Accounts == nil {
		d.Accounts = pool.New(pool.Deps{DB: d.Pool, Queries: d.Queries, Box: d.Box, Bus: d.Bus, Log: d.Log})
	}
	g := &Gateway{
		d:      d,
		keys:   newKeyCache(d.Pool, d.Queries, d.Bus, d.CacheTTL),
		routes: newRouteTable(d.Pool, d.Queries, d.Box, d.Bus, d.Log, d.CacheTTL, d.Accounts),
	}
	tr := d.Transport
	if tr == nil {
		tr = NewTransport(d.UpstreamTimeout)
	}
	g.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	d.Usage.OnFlush = func(recs []billing.Record) {
		for i := range recs {
			g.keys.settled(recs[i].UserID, recs[i].Quota)
		}
	}
	if _, err := g.routes.get(ctx); err != nil {
		return nil, err
	}
	return g, nil
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
func (g *Gateway) Close() { g.client.CloseIdleConnections() }

// Mount adds the gateway routes behind API key authentication.
func (g *Gateway) Mount(e *echo.Echo) {
	gatewayapi.RegisterHandlers(httpx.Router{E: e, MW: []echo.MiddlewareFunc{g.authenticate}}, g)
}

// ErrorShapes renders errors on gateway paths in the caller's protocol's shape: Claude's on
// /v1/messages, Gemini's on /v1beta/ and /v1/models/{model}:{action}, OpenAI's on other /v1/ paths.
func (g *Gateway) ErrorShapes() []httpx.ShapeRule {
	return []httpx.ShapeRule{
		{Prefix: "/v1/messages", Render: renderClaude},
		{Prefix: "/v1beta/", Render: renderGemini},
		{Prefix: "/v1/", Render: renderV1},
		{Prefix: "/share/", Render: renderOpenAI},
	}
}

const callerKey = "gateway.caller"

// authenticate resolves the API key from the header each SDK uses: Authorization: Bearer,
// x-api-key, x-goog-api-key, or ?key=.
func (g *Gateway) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		g.inflight.Add(1)
		defer g.inflight.Add(-1)
		if strings.HasPrefix(c.Path(), "/share/") { // share links authenticate with their own token (share.go)
			return next(c)
		}
		r := c.Request()
		key := ""
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			key = strings.TrimSpace(h[7:])
		} else if h := r.Header.Get("X-Api-Key"); h != "" {
			key = h
		} else if h := r.Header.Get("X-Goog-Api-Key"); h != "" {
			key = h
		} else if r.URL.RawQuery != "" {
			key = r.URL.Query().Get("key")
		}
		if key == "" {
			return fault.Code(fault.Unauthorized, "missing_api_key",
				"You didn't provide an API key. Send it as Authorization: Bearer sk-...")
		}
		cl, err := g.keys.lookup(r.Context(), key, time.Now())
		if err != nil {
			return err
		}
		c.Set(callerKey, cl)
		c.Set(tokenKey, key)
		return next(c)
	}
}

var openAITypes = map[fault.Kind]string{
	fault.Invalid: "invalid_request_error", fault.Unauthorized: "authentication_error",
	fault.PaymentRequired: "insufficient_quota", fault.Forbidden: "permission_error",
	fault.NotFound: "invalid_request_error", fault.Conflict: "invalid_request_error",
	fault.TooLarge: "invalid_request_error", fault.Unprocessable: "invalid_request_error",
	fault.MethodNotAllowed: "invalid_request_error",
	fault.RateLimited:      "rate_limit_error", fault.Upstream: "upstream_error", fault.Unavailable: "server_error",
}

type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

func renderOpenAI(c echo.Context, status int, e *fault.Error, rid string) error {
	typ := openAITypes[e.Kind]
	msg := e.Message
	if e.Code == "internal" {
		status, typ, msg = http.StatusInternalServerError, "server_error", "internal server error (request id "+rid+")"
	}
	var param *string
	if strings.HasPrefix(e.Code, "model_") || e.Code == "missing_model" {
		p := "model"
		param = &p
	}
	return c.JSON(status, openAIError{Error: openAIErrorBody{Message: msg, Type: typ, Param: param, Code: e.Code}})
}
