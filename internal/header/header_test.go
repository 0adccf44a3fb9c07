package header_test

import (
	"net/http"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/header"
)

// TestGetIsHeaderGet: for a canonical name, Get answers as http.Header.Get does (present, empty,
// absent, several values).
func TestGetIsHeaderGet(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Content-Type", "text/event-stream")
	h.Add("X-Api-Key", "")
	h.Add("Authorization", "Bearer a")
	h.Add("Authorization", "Bearer b")
	for _, name := range []string{"Content-Type", "X-Api-Key", "Authorization", "User-Agent", "X-Request-Id",
		"X-Goog-Api-Key", "X-Poolgate-Session", "X-Poolgate-Account"} {
		require.Equal(t, textproto.CanonicalMIMEHeaderKey(name), name, "the names read are canonical")
		require.Equal(t, h.Get(name), header.Get(h, name), name)
	}
	require.Empty(t, header.Get(nil, "Content-Type"))
}
