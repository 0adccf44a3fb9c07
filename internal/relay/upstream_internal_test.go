package relay

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/provider"
	"github.com/poolgate/poolgate/internal/translate"
)

// TestURLCache: a channel's upstream URL is parsed once per model and path and then shared, is
// the URL http.NewRequest would make of the same text (an empty port dropped), and past the
// bound is parsed per call rather than kept.
func TestURLCache(t *testing.T) {
	t.Parallel()
	oa, _ := provider.For(translate.OpenAI)
	gm, _ := provider.For(translate.Gemini)
	var c urlCache

	u1, err := c.get(oa, "http://up.example:", "gpt-x", "/chat/completions")
	require.NoError(t, err)
	want, err := http.NewRequest(http.MethodPost, "http://up.example:/chat/completions", nil)
	require.NoError(t, err)
	require.Equal(t, want.URL.String(), u1.String())
	require.Equal(t, want.Host, u1.Host)
	u2, err := c.get(oa, "http://up.example:", "gpt-x", "/chat/completions")
	require.NoError(t, err)
	require.Same(t, u1, u2, "the second call shares the first's URL")

	g1, err := c.get(gm, "http://g.example/v1beta", "gemini-a", "generateContent")
	require.NoError(t, err)
	g2, err := c.get(gm, "http://g.example/v1beta", "gemini-b", "generateContent")
	require.NoError(t, err)
	require.NotEqual(t, g1.String(), g2.String(), "the model is part of a Gemini URL")

	_, err = c.get(oa, "http://bad host", "m", "/chat/completions")
	require.Error(t, err)

	for i := range maxCachedURLs + 10 {
		_, err := c.get(gm, "http://g.example/v1beta", "m"+strconv.Itoa(i), "generateContent")
		require.NoError(t, err)
	}
	require.Equal(t, int32(maxCachedURLs), c.n.Load())
	a, err := c.get(gm, "http://g.example/v1beta", "m-last", "generateContent")
	require.NoError(t, err)
	b, err := c.get(gm, "http://g.example/v1beta", "m-last", "generateContent")
	require.NoError(t, err)
	require.Equal(t, a.String(), b.String())
	require.NotSame(t, a, b, "past the bound nothing more is kept")
}
