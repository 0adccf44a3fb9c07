package relay

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaxOutput: the first of max_tokens, max_completion_tokens, max_output_tokens and Gemini's
// generationConfig.maxOutputTokens (either spelling) that holds a positive number, whatever the
// order of the members in the body; 0 when none does.
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
		`not json`:                                                           0,
	} {
		require.Equal(t, want, maxOutput([]byte(body)), body)
	}
}

// BenchmarkMaxOutput reads the output bound of a short chat body and of a long conversation
// (~64 KiB of history), where none is set: every name is looked for through the whole body.
func BenchmarkMaxOutput(b *testing.B) {
	short := `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"be terse"},` +
		`{"role":"user","content":"the quick brown fox jumps over a lazy dog"}]}`
	turn := `{"role":"user","content":"` + strings.Repeat("lorem ipsum dolor sit amet ", 20) + `"},`
	long := `{"model":"gpt-4o-mini","messages":[` + strings.Repeat(turn, 120) +
		`{"role":"user","content":"and now?"}],"stream":true}`
	for _, bc := range []struct{ name, body string }{{"short", short}, {"long", long}} {
		b.Run(bc.name, func(b *testing.B) {
			body := []byte(bc.body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if maxOutput(body) != 0 {
					b.Fatal("no bound was set")
				}
			}
		})
	}
}
