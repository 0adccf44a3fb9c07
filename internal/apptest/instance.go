package apptest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/app"
)

// Instance is one more Poolgate instance on an Env's database and Redis prefix, served the way
// the binary serves (app.Serve: its http.Server and its graceful shutdown) on a listener of its
// own. Stop is what SIGTERM does to the binary.
type Instance struct {
	// App is the running instance's parts (valid until Stop returns).
	App *app.App
	// Addr is the host:port it listens on; URL is http://Addr.
	Addr string
	URL  string

	stop context.CancelFunc
	done chan error
}

// Serve starts an instance sharing e's database and Redis on addr ("127.0.0.1:0" for a free
// port, or the address of an instance stopped before, to restart it there). It returns once the
// instance accepts connections; the test's end stops it if the test has not.
func (e *Env) Serve(t testing.TB, addr string, configure ...func(*app.Options)) *Instance {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	cfg := *e.cfg
	cfg.UsageJournalDir = t.TempDir()
	cfg.ShutdownTimeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	in := &Instance{Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String(), stop: cancel, done: make(chan error, 1)}
	ready := make(chan *app.App, 1)
	opt := app.Options{BcryptCost: 4, Listener: ln, Ready: func(_ context.Context, a *app.App) error {
		ready <- a
		return nil
	}}
	for _, f := range configure {
		f(&opt)
	}
	test := t.Name()
	extra := opt.Extra
	opt.Extra = func(e *echo.Echo) {
		if extra != nil {
			extra(e)
		}
		e.Pre(echo.WrapMiddleware(func(next http.Handler) http.Handler { return &leakHandler{test: test, next: next} }))
	}
	go func() { in.done <- app.Serve(ctx, &cfg, leakLogger(test, nil), opt) }()
	select {
	case in.App = <-ready:
	case err := <-in.done:
		_ = ln.Close()
		cancel()
		require.NoError(t, err, "start instance")
		t.Fatal("instance ended before it was ready")
	}
	t.Cleanup(func() { reportLeaks(t, test) })
	t.Cleanup(func() { _ = in.Stop() })
	return in
}

// Stop shuts the instance down as SIGTERM does and waits for it: it stops accepting, lets
// open requests and streams finish, writes the queued usage and closes its pools.
func (in *Instance) Stop() error {
	if in.stop == nil {
		return nil
	}
	in.stop()
	in.stop = nil
	return <-in.done
}
