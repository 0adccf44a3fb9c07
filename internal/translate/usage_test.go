package translate

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// TestUsageMapping checks that usage survives every conversion exactly: cached input, Claude
// cache writes (5-minute and 1-hour) and reasoning tokens.
func TestUsageMapping(t *testing.T) {
	t.Parallel()
	claude, err := DecodeClaudeResponse(read(t, "responses/claude.json"))
	require.NoError(t, err)
	require.Equal(t, Usage{PromptTokens: 120, CachedTokens: 64, CacheWrite5mTokens: 30, CacheWrite1hTokens: 6, CompletionTokens: 30}, claude.Usage)

	oa := EncodeOpenAIResponse(claude, 1)
	require.Equal(t, int64(120), gjson.GetBytes(oa, "usage.prompt_tokens").Int())
	require.Equal(t, int64(64), gjson.GetBytes(oa, "usage.prompt_tokens_details.cached_tokens").Int())
	require.Equal(t, int64(30), gjson.GetBytes(oa, "usage.completion_tokens").Int())

	back := EncodeClaudeResponse(claude, "m")
	require.Equal(t, int64(20), gjson.GetBytes(back, "usage.input_tokens").Int())
	require.Equal(t, int64(36), gjson.GetBytes(back, "usage.cache_creation_input_tokens").Int())
	require.Equal(t, int64(6), gjson.GetBytes(back, "usage.cache_creation.ephemeral_1h_input_tokens").Int())

	gem, err := DecodeGeminiResponse(read(t, "responses/gemini.json"))
	require.NoError(t, err)
	require.Equal(t, Usage{PromptTokens: 120, CachedTokens: 64, CompletionTokens: 30, ReasoningTokens: 12}, gem.Usage)
	oa = EncodeOpenAIResponse(gem, 1)
	require.Equal(t, int64(12), gjson.GetBytes(oa, "usage.completion_tokens_details.reasoning_tokens").Int())
	g2 := EncodeGeminiResponse(gem, "m")
	require.Equal(t, int64(18), gjson.GetBytes(g2, "usageMetadata.candidatesTokenCount").Int())
	require.Equal(t, int64(150), gjson.GetBytes(g2, "usageMetadata.totalTokenCount").Int())

	o, err := DecodeOpenAIResponse(read(t, "responses/openai.json"))
	require.NoError(t, err)
	require.Equal(t, Usage{PromptTokens: 120, CachedTokens: 64, CompletionTokens: 30, ReasoningTokens: 12}, o.Usage)
	c := EncodeClaudeResponse(o, "m")
	require.Equal(t, int64(56), gjson.GetBytes(c, "usage.input_tokens").Int(), "Claude's input_tokens excludes cache reads")
	require.Equal(t, int64(64), gjson.GetBytes(c, "usage.cache_read_input_tokens").Int())
}

// TestStreamCutIsAnError checks that a stream the upstream cuts short ends with the caller's
// protocol's error event, never a clean end.
func TestStreamCutIsAnError(t *testing.T) {
	t.Parallel()
	for _, from := range protocols {
		sse := read(t, "streams/"+name(from)+".sse")
		cut := sse[:bytes.LastIndexByte(sse[:len(sse)*2/3], '\n')+1] // at a line boundary
		for _, to := range protocols {
			out, _, done := convertStream(t, from, to, cut, EncoderOptions{Model: "m"})
			require.False(t, done, "%s→%s", name(from), name(to))
			switch to {
			case OpenAI:
				require.Contains(t, string(out), `"code":"stream_interrupted"`)
				require.NotContains(t, string(out), "[DONE]")
			case Claude:
				require.Contains(t, string(out), "event: error\n")
				require.NotContains(t, string(out), "message_stop")
			case Gemini:
				require.Contains(t, string(out), `"status":"UNAVAILABLE"`)
			}
		}
	}
}

// TestClaudeThinkingRules checks when thinking is sent to Claude: signed thinking is replayed,
// foreign thoughts are dropped, and thinking is turned off when a tool turn lacks its signature.
func TestClaudeThinkingRules(t *testing.T) {
	t.Parallel()
	r, err := DecodeClaudeRequest(read(t, "requests/claude.json"))
	require.NoError(t, err)
	out := EncodeClaudeRequest(r)
	require.Equal(t, "thinking", gjson.GetBytes(out, "messages.1.content.0.type").String())
	require.Equal(t, int64(2048), gjson.GetBytes(out, "thinking.budget_tokens").Int())

	o, err := DecodeOpenAIRequest(read(t, "requests/openai.json"))
	require.NoError(t, err)
	out = EncodeClaudeRequest(o)
	require.False(t, gjson.GetBytes(out, "thinking").Exists(), "an unsigned tool turn turns thinking off")
	require.NotContains(t, string(out), "The user wants two things")
}
