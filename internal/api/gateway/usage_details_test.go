package gateway_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestUsageDetailsLogged checks that the usage log carries the cache writes a Claude upstream
// reports (5-minute and 1-hour) and the reasoning tokens an OpenAI upstream reports, for the
// same protocol and translated, normal and streamed, and that they are charged.
func TestUsageDetailsLogged(t *testing.T) {
	t.Parallel()
	// 11 input tokens: 4 read from the cache, 2 written to the 5-minute cache, 3 to the 1-hour one;
	// 5 output tokens of which 2 reasoning.
	usage := fakeupstream.Usage{PromptTokens: 11, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2,
		CacheWrite5mTokens: 2, CacheWrite1hTokens: 3}
	cases := []struct {
		in, up                string
		write5m, write1h, rsn int64
	}{
		{in: "claude", up: "anthropic", write5m: 2, write1h: 3}, // Claude does not report reasoning tokens
		{in: "openai", up: "anthropic", write5m: 2, write1h: 3},
		{in: "openai", up: "openai", rsn: 2}, // OpenAI does not report cache writes
		{in: "claude", up: "openai", rsn: 2},
	}
	for _, c := range cases {
		for _, stream := range []bool{false, true} {
			name := c.in + "_to_" + c.up
			if stream {
				name += "_stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				env, user := matrixEnv(t)
				env.Upstream.Enqueue(fakeupstream.Reply{Thinking: "hmm", Text: "hello", Usage: &usage})
				newCaller(t, env, user.Key, c.in).ask(t, upstreamModels[c.up], stream)
				ls := logs(t, env, user.ID)
				require.Len(t, ls, 1)
				l := ls[0]
				require.Equal(t, http.StatusOK, l.StatusCode)
				require.Equal(t, int64(11), l.PromptTokens)
				require.Equal(t, int64(5), l.CompletionTokens)
				require.Equal(t, int64(4), l.CachedTokens)
				require.Equal(t, c.write5m, l.CacheWrite5mTokens)
				require.Equal(t, c.write1h, l.CacheWrite1hTokens)
				require.Equal(t, c.rsn, l.ReasoningTokens)
			})
		}
	}
}
