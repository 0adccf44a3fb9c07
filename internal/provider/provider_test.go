package provider_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/provider"
	"github.com/poolgate/poolgate/internal/translate"
)

// TestAdapters checks the lookup by protocol and channel type, and what each adapter owns of its
// wire format: call URLs below base URLs with and without the version, auth headers, model
// substitution, the stream usage flag and the token count answer.
func TestAdapters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ      string
		p        translate.Protocol
		base     string
		chat     string // URL of a translated streamed chat call for model m
		auth     string // the credential header
		modelSet bool   // the body names the model
		count    string
	}{
		{"openai", translate.OpenAI, "http://up/v1", "http://up/v1/chat/completions", "Authorization", true, ""},
		{"anthropic", translate.Claude, "http://up", "http://up/v1/messages", "X-Api-Key", true, `{"input_tokens":7}`},
		{"anthropic", translate.Claude, "http://up/v1/", "http://up/v1/messages", "X-Api-Key", true, `{"input_tokens":7}`},
		{"gemini", translate.Gemini, "http://up", "http://up/v1beta/models/m:streamGenerateContent?alt=sse", "X-Goog-Api-Key", false, `{"totalTokens":7}`},
		{"gemini", translate.Gemini, "http://up/v1", "http://up/v1/models/m:streamGenerateContent?alt=sse", "X-Goog-Api-Key", false, `{"totalTokens":7}`},
	} {
		ad, ok := provider.ForChannel(tc.typ)
		require.True(t, ok, tc.typ)
		require.Equal(t, tc.p, ad.Protocol())
		byProto, ok := provider.For(tc.p)
		require.True(t, ok)
		require.Equal(t, ad, byProto)

		require.Equal(t, tc.chat, ad.URL(tc.base, "m", ad.ChatPath(true)), tc.typ+" "+tc.base)
		h := http.Header{}
		ad.SetHeaders(h, nil, "secret")
		require.Contains(t, h.Get(tc.auth), "secret")
		if ch, ok := ad.(provider.CredentialHeaderer); ok {
			// The one header SetHeaders sets, whatever the caller's headers are.
			name, value := ch.CredentialHeader("secret")
			require.Equal(t, http.Header{name: {value}}, h, tc.typ)
			h2 := http.Header{}
			ad.SetHeaders(h2, http.Header{"X-Other": {"v"}, tc.auth: {"caller's"}}, "secret")
			require.Equal(t, h, h2, tc.typ)
		}

		body, err := ad.WithModel([]byte(`{"model":"a","stream":true}`), "b")
		require.NoError(t, err)
		require.Equal(t, tc.modelSet, gjson.GetBytes(body, "model").Str == "b")
		body, err = ad.WithStreamUsage(body)
		require.NoError(t, err)
		require.Equal(t, tc.p == translate.OpenAI, gjson.GetBytes(body, "stream_options.include_usage").Bool())
		require.Equal(t, tc.count, string(ad.TokenCount(7)))
	}
	_, ok := provider.ForChannel("nope")
	require.False(t, ok)
	_, ok = provider.For(0)
	require.False(t, ok)
}

// TestClaudeHeadersPassedOn checks that a Claude caller's version and beta headers reach a Claude
// upstream, and that a default version is sent otherwise.
func TestClaudeHeadersPassedOn(t *testing.T) {
	t.Parallel()
	ad, _ := provider.For(translate.Claude)
	h := http.Header{}
	ad.SetHeaders(h, http.Header{"Anthropic-Version": {"2024-01-01"}, "Anthropic-Beta": {"x"}}, "k")
	require.Equal(t, "2024-01-01", h.Get("Anthropic-Version"))
	require.Equal(t, "x", h.Get("Anthropic-Beta"))
	h = http.Header{}
	ad.SetHeaders(h, nil, "k")
	require.Equal(t, "2023-06-01", h.Get("Anthropic-Version"))
	require.Empty(t, h.Get("Anthropic-Beta"))
}

// TestRedact checks that credentials never survive in an upstream message shown to a caller.
func TestRedact(t *testing.T) {
	t.Parallel()
	require.Equal(t, "bad key [redacted] and [redacted].", provider.Redact("bad key sk-abc123 and mysecretvalue.", "mysecretvalue"))
}
