package apptest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/hookserver"
)

// HookSecret signs the hook requests of apps configured with HookConfig.
var HookSecret = []byte("apptest-hook-secret")

// HookReceiver is the reference hook server over real HTTP. While Down it answers 503 to
// everything; while Slow it answers nothing for two seconds.
type HookReceiver struct {
	Ref  *hookserver.Server
	URL  string
	Down atomic.Bool
	Slow atomic.Bool
	srv  *httptest.Server
}

// Close stops the receiver (its address then refuses connections).
func (r *HookReceiver) Close() { r.srv.Close() }

// NewHookReceiver starts a reference hook server with cfg (its Secret defaults to HookSecret).
func NewHookReceiver(t testing.TB, cfg hookserver.Config) *HookReceiver {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = HookSecret
	}
	r := &HookReceiver{Ref: hookserver.New(cfg)}
	h := r.Ref.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.Down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if r.Slow.Load() {
			select {
			case <-req.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL, r.srv = srv.URL, srv
	return r
}

// HookConfig lets the app call hooks on loopback receivers, signs with HookSecret, and bounds
// hook calls by timeout.
func HookConfig(timeout time.Duration, failOpen bool) Option {
	return WithConfig(func(c *config.Config) {
		c.AllowPrivateOutbound = "127.0.0.0/8"
		c.HookSecret = HookSecret
		c.HookTimeout = timeout
		c.HookFailOpen = failOpen
	})
}
