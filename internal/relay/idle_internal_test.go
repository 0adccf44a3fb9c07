package relay

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/upstreamhttp"
)

// TestIdleBoundedCutsSilentBodies: an answer that goes silent after its first bytes is cut once it
// has been silent for the bound, through both upstream clients — the lean one (plain HTTP) and
// net/http's (HTTPS, HTTP/2 and HTTP/1.1) — by closing its body while a read is pending; an answer
// that keeps sending is not cut however long it lasts.
func TestIdleBoundedCutsSilentBodies(t *testing.T) {
	t.Parallel()
	// A silence of a tenth of the bound between the steady answer's events, over longer than the
	// bound in all: a loaded machine's stall does not cut it.
	const bound, beat, beats = time.Second, 100 * time.Millisecond, 15
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		if r.URL.Path != "/steady" {
			<-r.Context().Done() // silent until the caller goes
			return
		}
		for range beats {
			time.Sleep(beat)
			_, _ = io.WriteString(w, "data: beat\n\n")
			w.(http.Flusher).Flush()
		}
	})
	plain := httptest.NewServer(handler)
	t.Cleanup(plain.Close)
	h2 := httptest.NewUnstartedServer(handler)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	h1 := httptest.NewTLSServer(handler)
	t.Cleanup(h1.Close)

	lean := upstreamhttp.New(NewTransport(5 * time.Second))
	t.Cleanup(lean.CloseIdleConnections)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
		url  string
	}{
		{"lean client, plain HTTP", lean, plain.URL},
		{"net/http, HTTP/2", h2.Client().Transport, h2.URL},
		{"net/http, HTTP/1.1", h1.Client().Transport, h1.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/silent", "/steady"} {
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, tc.url+path, nil)
				require.NoError(t, err)
				resp, err := tc.rt.RoundTrip(req)
				require.NoError(t, err)
				body := idleBounded(resp.Body, bound)
				start := time.Now()
				got, err := io.ReadAll(body)
				took := time.Since(start)
				require.NoError(t, body.Close())
				if path == "/silent" {
					require.ErrorIs(t, err, errUpstreamSilent, "a silent answer is cut")
					require.Equal(t, "data: first\n\n", string(got))
					require.Less(t, took, 10*bound, "cut about when it went silent for the bound")
				} else {
					require.NoError(t, err, "an answer that keeps sending is not cut")
					require.Contains(t, string(got), "data: beat")
				}
			}
		})
	}
}
