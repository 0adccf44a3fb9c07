package cli_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/cli"
)

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	env := func(k string) string {
		if k == "PORT" {
			return port
		}
		return ""
	}
	var out bytes.Buffer
	require.Equal(t, 0, cli.Run(t.Context(), []string{"healthcheck"}, env, &out, &out), out.String())

	status.Store(http.StatusServiceUnavailable)
	require.Equal(t, 1, cli.Run(t.Context(), []string{"healthcheck"}, env, &out, &out))
	require.Contains(t, out.String(), "503")

	srv.Close()
	require.Equal(t, 1, cli.Run(t.Context(), []string{"healthcheck"}, env, &out, &out), "nothing listening")
}
