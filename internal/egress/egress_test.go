package egress_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/egress"
)

func TestNormalizeAndRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                "",
		"socks5://u:p@127.0.0.1:1080":     "socks5://u:p@127.0.0.1:1080",
		"HTTP://proxy.example.com:3128/":  "http://proxy.example.com:3128",
		"https://proxy.example.com":       "https://proxy.example.com",
		"socks5h://alice:s%2Fcret@h:1080": "socks5h://alice:s%2Fcret@h:1080",
	} {
		got, err := egress.Normalize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"ftp://h:21", "socks5://", "http://h/path", "http://h?q=1", "h:1080", "socks4://h:1"} {
		_, err := egress.Normalize(bad)
		require.ErrorIs(t, err, egress.ErrInvalid, bad)
	}
	require.Equal(t, "socks5://h:1080", egress.Redact("socks5://u:secret@h:1080"))
	require.Empty(t, egress.Redact(""))
}

func TestTransportsCachedAndBounded(t *testing.T) {
	t.Parallel()
	ts := egress.New(nil, 2)
	direct := http.DefaultTransport
	require.Equal(t, direct, ts.For("", direct))
	a := ts.For("http://a:1", direct)
	require.Same(t, a, ts.For("http://a:1", direct))
	ts.For("http://b:1", direct)
	ts.For("http://c:1", direct)
	require.Equal(t, 2, ts.Len())
	require.NotSame(t, a, ts.For("http://a:1", direct), "the least recently used proxy was evicted")
	_, err := ts.For("ftp://x", direct).RoundTrip(&http.Request{})
	require.ErrorIs(t, err, egress.ErrInvalid)
}
