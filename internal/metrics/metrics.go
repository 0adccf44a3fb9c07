// Package metrics exposes Poolgate's Prometheus metrics: HTTP requests by route, protocol and
// status with latency and first-byte histograms, tokens and cost by model and upstream errors by
// class and channel (observed from the usage batches, off the request path), and, read when
// scraped, account states, cooldowns, queue depths and the health of PostgreSQL and Redis.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
)

// Sources are what the scrape-time gauges read.
type Sources struct {
	DB      db.DBTX
	Queries *db.Queries
	// Redis is nil when Poolgate runs without Redis.
	Redis redis.UniversalClient
	// UsageQueue is the number of usage records waiting to be written.
	UsageQueue func() int64
	// UsageRefused is the number of usage records skipped (user gone, or refused for good).
	UsageRefused func() int64
	// Journal reads the usage journal's counters; nil when no journal is kept.
	Journal func() billing.JournalStats
	// Limits reads the limiter's Redis counters: calls counted in process because Redis was
	// unreachable, scripts resent because it answered late, and refused admissions sent again
	// once the releases of calls that may have just ended were in; nil without Redis.
	Limits func() (fallbacks, resends, readmits, locals int64)
}

// Metrics holds the collectors and their registry.
type Metrics struct {
	// Registry holds every Poolgate collector plus Go's runtime and process collectors.
	Registry *prometheus.Registry

	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	firstByte      *prometheus.HistogramVec
	tokens         *prometheus.CounterVec
	cost           *prometheus.CounterVec
	calls          *prometheus.CounterVec
	upstreamErrors *prometheus.CounterVec

	mu     sync.RWMutex
	routes map[routeKey]*routeSeries

	usageMu sync.Mutex
	usage   map[string]*usageSeries // by model
}

// latencyBuckets span a cached answer to a long generation (seconds).
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// New registers Poolgate's collectors on a new registry.
func New(src Sources) *Metrics {
	m := &Metrics{
		routes:   map[routeKey]*routeSeries{},
		usage:    map[string]*usageSeries{},
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "poolgate_http_requests_total",
			Help: "HTTP requests answered, by route template, protocol (openai, claude, gemini, or the management contract) and status."},
			[]string{"route", "protocol", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "poolgate_http_request_duration_seconds",
			Help: "Time from a request's arrival to the end of its answer.", Buckets: latencyBuckets},
			[]string{"route", "protocol"}),
		firstByte: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "poolgate_stream_first_byte_seconds",
			Help:    "Streamed answers (text/event-stream): time from the request's arrival to the first byte of the stream (first token).",
			Buckets: latencyBuckets}, []string{"route", "protocol"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "poolgate_tokens_total",
			Help: "Tokens of gateway calls served by a channel, by model and kind (prompt, completion, cached, cache_write_5m, cache_write_1h, reasoning)."},
			[]string{"model", "kind"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "poolgate_cost_quota_total",
			Help: "Quota units charged for gateway calls, by model."}, []string{"model"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "poolgate_gateway_calls_total",
			Help: "Gateway calls recorded in the usage log, by model and status class (2xx, 4xx, 5xx)."}, []string{"model", "class"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "poolgate_upstream_errors_total",
			Help: "Failed gateway calls served by a channel, by error class (rate_limited, auth, client, upstream, server) and channel id."},
			[]string{"class", "channel"}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.firstByte, m.tokens, m.cost, m.calls, m.upstreamErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scrape{src: src})
	return m
}

// Protocol names the contract or wire protocol a request path belongs to.
func Protocol(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/messages"):
		return "claude"
	case strings.HasPrefix(path, "/v1beta/"), strings.HasPrefix(path, "/v1/models/") && strings.Contains(path, ":"):
		return "gemini"
	case strings.HasPrefix(path, "/v1/"), strings.HasPrefix(path, "/share/"):
		return "openai"
	case strings.HasPrefix(path, "/api/user/"):
		return "user"
	case strings.HasPrefix(path, "/api/public/"), strings.HasPrefix(path, "/api/setup"), strings.HasPrefix(path, "/api/pricing"),
		strings.HasPrefix(path, "/api/payment/"), path == "/health", path == "/logintoken", path == "/carpage",
		path == "/status", path == "/endpoint":
		return "public"
	case strings.HasPrefix(path, "/api/"):
		return "admin"
	case strings.HasPrefix(path, "/auth/"):
		return "auth"
	}
	return "other"
}

// routeKey names a route's series.
type routeKey struct{ route, protocol string }

// routeSeries are one route's children of the request collectors, looked up once and kept, so a
// request costs map reads rather than label hashing and allocations.
type routeSeries struct {
	latency, firstByte prometheus.Observer
	mu                 sync.RWMutex
	byStatus           map[int]prometheus.Counter
}

func (m *Metrics) series(route, protocol string) *routeSeries {
	k := routeKey{route, protocol}
	m.mu.RLock()
	s := m.routes[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.routes[k]; s == nil {
		s = &routeSeries{latency: m.latency.WithLabelValues(route, protocol),
			firstByte: m.firstByte.WithLabelValues(route, protocol), byStatus: map[int]prometheus.Counter{}}
		m.routes[k] = s
	}
	return s
}

func (s *routeSeries) requests(m *Metrics, k routeKey, status int) prometheus.Counter {
	s.mu.RLock()
	c := s.byStatus[status]
	s.mu.RUnlock()
	if c != nil {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c = s.byStatus[status]; c == nil {
		c = m.requests.WithLabelValues(k.route, k.protocol, strconv.Itoa(status))
		s.byStatus[status] = c
	}
	return c
}

// ObserveRequest counts one answered request. route is the route template ("" for no route);
// firstByte is the time to a stream's first byte, 0 when the answer was not streamed.
func (m *Metrics) ObserveRequest(route, protocol string, status int, d, firstByte time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	s := m.series(route, protocol)
	s.requests(m, routeKey{route, protocol}, status).Inc()
	s.latency.Observe(d.Seconds())
	if firstByte > 0 {
		s.firstByte.Observe(firstByte.Seconds())
	}
}

// ErrorClass classifies a failed call's status as the statistics do.
func ErrorClass(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "auth"
	case status < 500:
		return "client"
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return "upstream"
	}
	return "server"
}

// ObserveUsage counts a written usage batch. Only calls a channel served are counted by model,
// so the model label holds the names administrators configured, never arbitrary caller input.
// A model's counters are looked up once and kept (usageSeries): a record costs a map read and
// the counters' adds rather than label hashing per counter.
func (m *Metrics) ObserveUsage(recs []billing.Record) {
	m.usageMu.Lock()
	defer m.usageMu.Unlock()
	for i := range recs {
		r := &recs[i]
		if r.ChannelID == 0 {
			continue
		}
		s := m.usage[r.Model]
		if s == nil {
			s = &usageSeries{}
			m.usage[r.Model] = s
		}
		class := 0
		if r.StatusCode >= 500 {
			class = 2
		} else if r.StatusCode >= 400 {
			class = 1
		}
		lazy(&s.calls[class], m.calls, r.Model, statusClasses[class]).Inc()
		if r.StatusCode >= 400 {
			m.upstreamErrors.WithLabelValues(ErrorClass(r.StatusCode), strconv.FormatInt(r.ChannelID, 10)).Inc()
		}
		for kind, n := range [len(tokenKinds)]int64{r.PromptTokens, r.CompletionTokens, r.CachedTokens,
			r.CacheWrite5mTokens, r.CacheWrite1hTokens, r.ReasoningTokens} {
			if n > 0 {
				lazy(&s.tokens[kind], m.tokens, r.Model, tokenKinds[kind]).Add(float64(n))
			}
		}
		if r.Quota > 0 {
			lazy(&s.cost, m.cost, r.Model).Add(float64(r.Quota))
		}
	}
}

// statusClasses and tokenKinds are the class and kind labels of the usage counters, in the order
// of usageSeries' slots.
var (
	statusClasses = [...]string{"2xx", "4xx", "5xx"}
	tokenKinds    = [...]string{"prompt", "completion", "cached", "cache_write_5m", "cache_write_1h", "reasoning"}
)

// usageSeries are one model's children of the usage counters, each made the first time it counts
// something (a series appears once it has a value, as with WithLabelValues at the count).
type usageSeries struct {
	calls  [len(statusClasses)]prometheus.Counter
	tokens [len(tokenKinds)]prometheus.Counter
	cost   prometheus.Counter
}

// lazy returns *slot, made from vec with labels the first time (m.usageMu held).
func lazy(slot *prometheus.Counter, vec *prometheus.CounterVec, labels ...string) prometheus.Counter {
	if *slot == nil {
		*slot = vec.WithLabelValues(labels...)
	}
	return *slot
}

// Handler serves the metrics; with a token, only to `Authorization: Bearer <token>`.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Timeout: 10 * time.Second})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// scrape reads the gauges that live in PostgreSQL and Redis when Prometheus scrapes.
type scrape struct{ src Sources }

var (
	descAccounts = prometheus.NewDesc("poolgate_accounts", "Upstream accounts by state.", []string{"state"}, nil)
	descCooling  = prometheus.NewDesc("poolgate_accounts_cooling",
		"Accounts in a cooldown that has not ended.", nil, nil)
	descUsageQueue = prometheus.NewDesc("poolgate_usage_queue_depth",
		"Usage records waiting to be written in a batch.", nil, nil)
	descUsageRefused = prometheus.NewDesc("poolgate_usage_refused_total",
		"Usage records the writer skipped, each logged with its request id: their user no longer exists, or the database refused them for good.", nil, nil)
	descOutbox = prometheus.NewDesc("poolgate_hook_outbox_pending",
		"Notify-hook deliveries waiting in the durable outbox.", nil, nil)
	descUp = prometheus.NewDesc("poolgate_dependency_up",
		"1 when a dependency answered a ping within 2 s at scrape time, else 0 (postgres, redis).", []string{"dependency"}, nil)
	descJournalPending = prometheus.NewDesc("poolgate_usage_journal_pending",
		"Usage records in the local journal not yet written to PostgreSQL.", nil, nil)
	descJournalReplayed = prometheus.NewDesc("poolgate_usage_journal_replayed_total",
		"Usage records replayed from journal segments left by a crashed process (at start and by the periodic scan).", nil, nil)
	descJournalSyncErrors = prometheus.NewDesc("poolgate_usage_journal_fsync_errors_total",
		"Failed fsyncs of the usage journal (records then survive a process crash but maybe not a power loss).", nil, nil)
	descJournalAppendErrors = prometheus.NewDesc("poolgate_usage_journal_append_errors_total",
		"Failed appends to the usage journal (those records are only in memory until written).", nil, nil)
	descLimitsFallbacks = prometheus.NewDesc("poolgate_limits_redis_fallbacks_total",
		"Calls whose limits and reservation were counted in process because Redis was unreachable (per instance while it lasts).", nil, nil)
	descLimitsResends = prometheus.NewDesc("poolgate_limits_redis_resends_total",
		"Limit scripts (admit or release, idempotent per call) sent again because Redis answered late.", nil, nil)
	descLimitsReadmits = prometheus.NewDesc("poolgate_limits_readmits_total",
		"Refused admissions admitted again once the releases of calls that may have just ended were in (this instance's, or 7 ms for another's), or once allowances were given back.", nil, nil)
	descLimitsLocals = prometheus.NewDesc("poolgate_limits_local_admits_total",
		"Calls admitted against this instance's allowances, without a Redis round trip before their upstream call (recorded in Redis within a batch after).", nil, nil)
)

// Describe sends the scrape-time descriptors.
func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccounts, descCooling, descUsageQueue, descUsageRefused, descOutbox, descUp, descJournalPending,
		descJournalReplayed, descJournalSyncErrors, descJournalAppendErrors, descLimitsFallbacks, descLimitsResends,
		descLimitsReadmits, descLimitsLocals} {
		ch <- d
	}
}

// Collect reads the gauges, each query bounded to 2 s; a dependency that does not answer is
// reported down and its gauges left out.
func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.src.UsageQueue != nil {
		ch <- prometheus.MustNewConstMetric(descUsageQueue, prometheus.GaugeValue, float64(s.src.UsageQueue()))
	}
	if s.src.UsageRefused != nil {
		ch <- prometheus.MustNewConstMetric(descUsageRefused, prometheus.CounterValue, float64(s.src.UsageRefused()))
	}
	if s.src.Journal != nil {
		st := s.src.Journal()
		ch <- prometheus.MustNewConstMetric(descJournalPending, prometheus.GaugeValue, float64(st.Pending))
		ch <- prometheus.MustNewConstMetric(descJournalReplayed, prometheus.CounterValue, float64(st.Replayed))
		ch <- prometheus.MustNewConstMetric(descJournalSyncErrors, prometheus.CounterValue, float64(st.SyncErrors))
		ch <- prometheus.MustNewConstMetric(descJournalAppendErrors, prometheus.CounterValue, float64(st.AppendErrors))
	}
	if s.src.Limits != nil {
		falls, resends, readmits, locals := s.src.Limits()
		ch <- prometheus.MustNewConstMetric(descLimitsLocals, prometheus.CounterValue, float64(locals))
		ch <- prometheus.MustNewConstMetric(descLimitsFallbacks, prometheus.CounterValue, float64(falls))
		ch <- prometheus.MustNewConstMetric(descLimitsResends, prometheus.CounterValue, float64(resends))
		ch <- prometheus.MustNewConstMetric(descLimitsReadmits, prometheus.CounterValue, float64(readmits))
	}
	if s.src.Redis != nil {
		up := 1.0
		if s.src.Redis.Ping(ctx).Err() != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, "redis")
	}
	if s.src.Queries == nil {
		return
	}
	states, err := s.src.Queries.MetricsAccountStates(ctx, s.src.DB)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0, "postgres")
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1, "postgres")
	for _, st := range states {
		ch <- prometheus.MustNewConstMetric(descAccounts, prometheus.GaugeValue, float64(st.Accounts), st.Status)
	}
	if n, err := s.src.Queries.MetricsAccountsCooling(ctx, s.src.DB); err == nil {
		ch <- prometheus.MustNewConstMetric(descCooling, prometheus.GaugeValue, float64(n))
	}
	if n, err := s.src.Queries.MetricsHookOutboxPending(ctx, s.src.DB); err == nil {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n))
	}
}
