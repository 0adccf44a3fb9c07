package translate

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAIFastText checks the text-delta fast path against the full parse: it takes the
// common chunks, leaves every other one to the parser, and never accepts invalid JSON.
func TestOpenAIFastText(t *testing.T) {
	t.Parallel()
	head := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1",`
	for _, c := range []struct {
		payload string
		text    string
		ok      bool
	}{
		{head + `"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}`, "Hi", true},
		{head + `"choices":[{"index":0,"delta":{"content":"a\n\"b\"\\/"},"logprobs":null,"finish_reason":null}]}`, "a\n\"b\"\\/", true},
		{head + `"choices":[{"index":0,"delta":{"content":"\u00e9"},"finish_reason":null}]}`, "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}`, "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x","refusal":null},"finish_reason":null}]}`, "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":1}}`, "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"error":null}`, "", false},
		{head + `"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"choices":[]}`, "", false},
		{`{"id":"a" ,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, "", false},
		{`{"id":01,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, "", false},
		{`{"id":"a","choices":[{"index":0,"delta":{"content":"x\q"},"finish_reason":null}]}`, "", false},
		{`{"id":"a","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],}`, "", false},
		{`{"id":"a","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]`, "", false},
		{`{"n":-1.5e3,"t":true,"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"f":false}`, "x", true},
	} {
		text, ok := openAIFastText([]byte(c.payload))
		require.Equal(t, c.ok, ok, c.payload)
		require.Equal(t, c.text, text, c.payload)
		if ok {
			require.True(t, json.Valid([]byte(c.payload)), c.payload)
			evs, err := (&openAIDecoder{started: true}).Decode(nil, []byte(c.payload))
			require.NoError(t, err)
			require.Equal(t, []Event{{Kind: EvText, Text: c.text}}, evs)
		}
	}
}

// TestOpenAIFastTextMutations compares the fast path with the full parse on every one-byte
// change of a text chunk: whatever it accepts is valid JSON that the parser reads the same way.
func TestOpenAIFastTextMutations(t *testing.T) {
	t.Parallel()
	base := `{"id":"c-1","created":12,"model":"m","choices":[{"index":0,"delta":{"content":"a\"b\n"},"logprobs":null,"finish_reason":null}],"usage":null}`
	for i := range len(base) {
		for _, c := range []byte{'"', '\\', '{', '}', ',', ':', ' ', '0', 'n', 'x', 0x01} {
			for _, p := range []string{base[:i] + string(c) + base[i+1:], base[:i] + base[i+1:], base[:i] + string(c) + base[i:]} {
				text, ok := openAIFastText([]byte(p))
				if !ok {
					continue
				}
				require.True(t, json.Valid([]byte(p)), p)
				full := &openAIDecoder{started: true}
				evs, err := full.decodeFull(nil, []byte(p))
				require.NoError(t, err, p)
				if text == "" {
					require.Empty(t, evs, p)
				} else {
					require.Equal(t, []Event{{Kind: EvText, Text: text}}, evs, p)
				}
			}
		}
	}
}
