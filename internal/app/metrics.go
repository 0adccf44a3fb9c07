package app

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/metrics"
)

// observability builds the metrics and feeds them each usage batch after it is written (after
// the gateway's own accounting of the batch), off the request path.
func (a *App) observability(_ context.Context) {
	src := metrics.Sources{DB: a.Pool, Queries: a.Queries, Redis: a.Redis, UsageQueue: a.Usage.Pending,
		UsageRefused: a.Usage.Refused}
	if a.journal != nil {
		src.Journal = a.journal.Stats
	}
	if a.Redis != nil {
		src.Limits = func() (int64, int64, int64, int64) {
			return a.Limits.Fallbacks(), a.Limits.Resends(), a.Limits.Readmits(), a.Limits.LocalAdmits()
		}
	}
	a.Metrics = metrics.New(src)
	prev := a.Usage.OnFlush
	a.Usage.OnFlush = func(recs []billing.Record) {
		if prev != nil {
			prev(recs)
		}
		a.Metrics.ObserveUsage(recs)
	}
}

// mountMetrics serves /metrics on the main port when no METRICS_ADDR is set and METRICS_TOKEN
// is: the main port is public, so the metrics there always need the token.
func (a *App) mountMetrics(e *echo.Echo) {
	if a.Cfg.MetricsAddr != "" || a.Cfg.MetricsToken == "" {
		return
	}
	e.GET("/metrics", echo.WrapHandler(a.Metrics.Handler(a.Cfg.MetricsToken)))
}

// metricsMux serves /metrics on METRICS_ADDR (with METRICS_TOKEN when set).
func (a *App) metricsMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.Metrics.Handler(a.Cfg.MetricsToken))
	return mux
}
