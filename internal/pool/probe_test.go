package pool_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/pool"
)

// TestFetchModelsURLs: probes, status monitors and channel sync ask each provider's own model
// list URL with its own credential header, whether the channel's base URL carries the API
// version or not.
func TestFetchModelsURLs(t *testing.T) {
	t.Parallel()
	up := fakeupstream.New()
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	p := pool.New(pool.Deps{Client: srv.Client()})
	const cred = "sk-probe-credential-1234"
	for _, c := range []struct{ typ, base, path, header, value string }{
		{"openai", "/v1", "/v1/models", "Authorization", "Bearer " + cred},
		{"openai", "/v1/", "/v1/models", "Authorization", "Bearer " + cred},
		{"anthropic", "", "/v1/models", "X-Api-Key", cred},
		{"anthropic", "/v1", "/v1/models", "X-Api-Key", cred},
		{"gemini", "", "/v1beta/models", "X-Goog-Api-Key", cred},
		{"gemini", "/v1beta/", "/v1beta/models", "X-Goog-Api-Key", cred},
		{"gemini", "/v1", "/v1/models", "X-Goog-Api-Key", cred},
	} {
		up.Reset()
		models, err := p.FetchModels(context.Background(), c.typ, srv.URL+c.base, cred, "")
		reqs := up.Requests()
		require.Len(t, reqs, 1, "%s %q", c.typ, c.base)
		require.Equal(t, c.path, reqs[0].Path, "%s %q", c.typ, c.base)
		require.Equal(t, c.value, reqs[0].Header.Get(c.header), "%s %q", c.typ, c.base)
		if c.typ == "anthropic" {
			require.Equal(t, "2023-06-01", reqs[0].Header.Get("Anthropic-Version"))
		}
		if c.typ == "openai" { // the fake lists OpenAI's shape
			require.NoError(t, err)
			require.Contains(t, models, fakeupstream.DefaultModels()[0])
		}
	}
}
