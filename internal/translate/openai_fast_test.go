package translate

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAIFastText checks the fast path against the full parse: it takes the common text and
// finish chunks, leaves every other one to the parser, and never accepts invalid JSON.
func TestOpenAIFastText(t *testing.T) {
	t.Parallel()
	head := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1",`
	for _, c := range []struct {
		payload string
		text    string
		finish  string
		ok      bool
	}{
		{head + `"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}`, "Hi", "", true},
		{head + `"choices":[{"index":0,"delta":{"content":"a\n\"b\"\\/"},"logprobs":null,"finish_reason":null}]}`, "a\n\"b\"\\/", "", true},
		{head + `"choices":[{"index":0,"delta":{"content":"\u00e9"},"finish_reason":null}]}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x","refusal":null},"finish_reason":null}]}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":1}}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"error":null}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"choices":[]}`, "", "", false},
		{`{"id":"a" ,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, "", "", false},
		{`{"id":01,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, "", "", false},
		{`{"id":"a","choices":[{"index":0,"delta":{"content":"x\q"},"finish_reason":null}]}`, "", "", false},
		{`{"id":"a","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],}`, "", "", false},
		{`{"id":"a","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]`, "", "", false},
		{`{"n":-1.5e3,"t":true,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"f":false}`, "x", "", true},
		// The chunk that ends the answer.
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "", "stop", true},
		{head + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}],"usage":null}`, "", "length", true},
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"obfuscation":"x1"}`, "", "tool_calls", true},
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":""}]}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":"st\u006fp"}]}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1}]}`, "", "", false},
		{head + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`, "", "", false},
	} {
		fc, ok := openAIFastText([]byte(c.payload), nil)
		require.Equal(t, c.ok, ok, c.payload)
		require.Equal(t, c.text, fc.text, c.payload)
		require.Equal(t, c.finish, fc.finish, c.payload)
		if ok {
			require.True(t, json.Valid([]byte(c.payload)), c.payload)
			evs, err := (&openAIDecoder{started: true}).Decode(nil, []byte(c.payload))
			require.NoError(t, err)
			require.Equal(t, fastEvents(fc), evs)
		}
	}
}

// fastEvents are the events a chunk the fast path read stands for.
func fastEvents(c fastChunk) []Event {
	switch {
	case c.finish != "":
		return []Event{{Kind: EvStop, Stop: openAIStop(c.finish)}}
	case c.text != "":
		return []Event{{Kind: EvText, Text: c.text}}
	}
	return nil
}

// TestOpenAIFastTextMutations compares the fast path with the full parse on every one-byte
// change of a text chunk: whatever it accepts is valid JSON that the parser reads the same way.
func TestOpenAIFastTextMutations(t *testing.T) {
	t.Parallel()
	for _, base := range []string{
		`{"id":"c-1","created":12,"model":"m","choices":[{"index":0,"delta":{"content":"a\"b\n"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id":"c-1","created":12,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
	} {
		fc, ok := openAIFastText([]byte(base), nil)
		require.True(t, ok)
		baseHead := []byte(base[:fc.head])
		require.Equal(t, `{"id":"c-1","created":12,"model":"m",`, string(baseHead))
		for i := range len(base) {
			for _, c := range []byte{'"', '\\', '{', '}', ',', ':', ' ', '0', 'n', 'x', 0x01} {
				for _, p := range []string{base[:i] + string(c) + base[i+1:], base[:i] + base[i+1:], base[:i] + string(c) + base[i:]} {
					fc, ok := openAIFastText([]byte(p), nil)
					// Read after a chunk with base's head, it is read the same way.
					fc2, ok2 := openAIFastText([]byte(p), baseHead)
					require.Equal(t, ok, ok2, p)
					if !ok {
						continue
					}
					require.Equal(t, fc, fc2, p)
					require.True(t, json.Valid([]byte(p)), p)
					full := &openAIDecoder{started: true}
					evs, err := full.decodeFull(nil, []byte(p))
					require.NoError(t, err, p)
					require.Equal(t, fastEvents(fc), evs, p)
				}
			}
		}
	}
}
