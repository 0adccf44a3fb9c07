package header_test

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
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

func TestTrimOWSIsTrim(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", " ", "\t", " \t ", "a", " a", "a ", "\ta b\t", "  a \t b  ", "a\r", "\x00a\x00", "é "} {
		require.Equal(t, strings.Trim(v, " \t"), header.TrimOWS(v), "%q", v)
		require.Equal(t, string(bytes.Trim([]byte(v), " \t")), string(header.TrimOWS([]byte(v))), "%q", v)
	}
}
