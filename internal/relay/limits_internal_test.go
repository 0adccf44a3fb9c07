package relay

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/provider/openai"
)

// TestMaxOutput: the first of max_tokens, max_completion_tokens, max_output_tokens and Gemini's
// generationConfig.maxOutputTokens (either spelling) that holds a positive number, whatever the
// order of the members in the body; 0 when none does. The same for a body sent to the Responses
// API and to Gemini, whose parse reads the same members.
func TestMaxOutput(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int64{
		`{"model":"m","messages":[]}`:                                        0,
		`{"max_tokens":7}`:                                                   7,
		`{"max_completion_tokens":9,"max_tokens":7}`:                         7,
		`{"max_tokens":0,"max_completion_tokens":9}`:                         9,
		`{"max_tokens":"7","max_output_tokens":11}`:                          11,
		`{"max_tokens":-3}`:                                                  0,
		`{"generationConfig":{"temperature":1,"maxOutputTokens":12}}`:        12,
		`{"generation_config":{"max_output_tokens":13}}`:                     13,
		`{"generationConfig":{"maxOutputTokens":12},"max_output_tokens":11}`: 11,
		`{"generationConfig":5}`:                                             0,
		`{"messages":[{"max_tokens":99}],"max_tokens":5}`:                    5,
		`{"messages":[{"max_tokens":99}]}`:                                   0,
	} {
		for _, ep := range []*Endpoint{Responses, geminiActions["generateContent"]} {
			req, err := ep.parse([]byte(body), "m")
			require.NoError(t, err, body)
			require.Equal(t, want, maxOutput(&req), "%s %s", ep.name, body)
		}
	}
	require.Zero(t, maxOutput(&openai.Request{}), "a body that did not parse asks for nothing")
}

// BenchmarkRequestMembers reads what a call needs of its body (model and stream flags, the
// bounds' knobs, the output bound, the session) from a short chat body and from a long
// conversation (~64 KiB of history) where no bound or session is set: one validating pass,
// whatever the body's length, where each member looked up alone walked the whole body again.
func BenchmarkRequestMembers(b *testing.B) {
	short := `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"be terse"},` +
		`{"role":"user","content":"the quick brown fox jumps over a lazy dog"}]}`
	turn := `{"role":"user","content":"` + strings.Repeat("lorem ipsum dolor sit amet ", 20) + `"},`
	long := `{"model":"gpt-4o-mini","messages":[` + strings.Repeat(turn, 120) +
		`{"role":"user","content":"and now?"}],"stream":true}`
	h := http.Header{}
	for _, bc := range []struct{ name, body string }{{"short", short}, {"long", long}} {
		b.Run(bc.name, func(b *testing.B) {
			body := []byte(bc.body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req, err := Chat.parse(body, "")
				m := &req.Meta
				if err != nil || maxOutput(&req) != 0 ||
					pool.Session(h, m[openai.MetaMetadata], m[openai.MetaPromptCacheKey], m[openai.MetaUser]) != "" {
					b.Fatal("no bound or session was set")
				}
			}
		})
	}
}
