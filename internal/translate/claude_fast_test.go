package translate

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// checkClaudeFast holds the fast Claude → OpenAI request path to the general one: whatever it
// converts, it converts to exactly the bytes of EncodeOpenAIRequest(DecodeClaudeRequest(body)).
func checkClaudeFast(t *testing.T, body []byte, stream bool) bool {
	t.Helper()
	out, ok := ClaudeToOpenAIFast(body, "mapped-model", stream)
	if !ok {
		return false
	}
	r, err := DecodeClaudeRequest(body)
	require.NoError(t, err, "%s", body)
	r.Model, r.Stream = "mapped-model", stream
	require.Equal(t, string(EncodeOpenAIRequest(r)), string(out), "%s", body)
	return true
}

func TestClaudeToOpenAIFast(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body string
		fast bool
	}{
		{`{"model":"m","max_tokens":1024,"system":"be terse","messages":[{"role":"user","content":"w0 w1"}]}`, true},
		{`{"model":"m","max_tokens":10,"stream":true,"temperature":0.50,"top_p":1,"stop_sequences":["x","y","z","u","v"],` +
			`"metadata":{"user_id":"u-1","other":1},"messages":[{"role":"user","content":"a\u00e9\n"},` +
			`{"role":"assistant","content":"b"},{"role":"user","content":"c\u2028"}]}`, true},
		{` {"messages":[{"content":"hi","role":"user"}],"max_tokens":5,"model":"m"} `, true},
		{`{"model":"m","max_tokens":5,"metadata":{"user_id":""},"stop_sequences":[],"messages":[{"role":"user","content":"hi"}]}`, true},
		// Anything else takes the general path.
		{`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, false},
		{`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`, false},
		{`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":""}]}`, false},
		{`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a","cache_control":{}}]}`, false},
		{`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"system":"","messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"tools":[],"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"temperature":null,"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"stop_sequences":"x","messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"metadata":{"user_id":7},"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"max_tokens":6,"messages":[{"role":"user","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"messages":[]}`, false},
		{`{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"a"}]}`, false},
		{`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"}]`, false},
	} {
		for _, stream := range []bool{false, true} {
			require.Equal(t, c.fast, checkClaudeFast(t, []byte(c.body), stream), "%s", c.body)
		}
	}
}

// FuzzClaudeToOpenAIFast: on arbitrary bodies the fast path never panics and, whenever it
// answers, agrees byte for byte with the general path.
func FuzzClaudeToOpenAIFast(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":1024,"system":"be terse","messages":[{"role":"user","content":"w0 w1"}]}`), false)
	f.Add([]byte(`{"model":"m","max_tokens":10,"stream":true,"temperature":0.5,"top_p":1,"stop_sequences":["x"],"metadata":{"user_id":"u"},"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) { checkClaudeFast(t, body, stream) })
}
