package jsonx

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

var scanNames = []string{"a", "b", "usage", "choices", "é"}

// checkScan compares ParseMembers with gjson: the same documents are valid objects, and every
// member read is what gjson's Get reads; ParseMembersInPlace reads the same.
func checkScan(t *testing.T, doc []byte) {
	t.Helper()
	out := make([]gjson.Result, len(scanNames))
	ok := ParseMembers(doc, scanNames, out)
	valid := gjson.ValidBytes(doc) && gjson.ParseBytes(doc).IsObject()
	require.Equal(t, valid, ok, "%q", doc)
	if !ok {
		return
	}
	require.True(t, json.Valid(doc), "%q", doc)
	root := gjson.ParseBytes(doc)
	for i, n := range scanNames {
		var want gjson.Result
		root.ForEach(func(k, v gjson.Result) bool {
			if k.Str == n {
				want = v
				return false
			}
			return true
		})
		require.Equal(t, want.Raw, out[i].Raw, "%q member %s", doc, n)
	}
	// In place: the same answer and members, read from doc itself.
	in := make([]gjson.Result, len(scanNames))
	require.True(t, ParseMembersInPlace(doc, scanNames, in), "%q", doc)
	require.Equal(t, out, in, "%q", doc)
}

func TestParseMembers(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, `{"b":[1,2,{"c":null}],"a":"x\"y"}`, `{"\u00e9":true}`,
		`{"a":-0.5e+10,"b":[],"usage":{"x":[[]]}}`, `{"a":01}`, `{"a":1,}`, `{"a" 1}`, `[1]`, `{"a":"\x"}`,
		"{\"a\":\"\x01\"}", `{"a":tru}`, `{"a":1}x`, `{"a":1`, `{"a":"\u12"}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`,
		`{"a":[1 2]}`, `{"a":{"b"}}`, "{\"a\":\"\xff\"}", `{"choices":[{"index":0}],"usage":null}`,
	} {
		checkScan(t, []byte(doc))
	}
}

// FuzzParseMembers holds the scanner to gjson on arbitrary input.
func FuzzParseMembers(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,false,null],"usage":{"x":"y"}}`, `{"\u00e9":"\n"}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkScan(t, doc) })
}

// plainRun's eight-bytes-at-a-time scan stops where the byte loop does: every byte value at every
// position of a run, behind plain bytes of every kind (ASCII, UTF-8, 0x7f, 0xff).
func TestPlainRunStopsWhereTheByteLoopDoes(t *testing.T) {
	t.Parallel()
	byteLoop := func(s string, j int) int {
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		return j
	}
	fillers := []byte{'a', ' ', 0x7f, 0x80, 0xc3, 0xff, '!', '#', '[', ']'}
	for _, fill := range fillers {
		for n := 0; n <= 20; n++ {
			for pos := 0; pos <= n; pos++ {
				for c := 0; c < 256; c++ {
					b := make([]byte, n+1)
					for i := range b {
						b[i] = fill
					}
					b[pos] = byte(c)
					s := string(b)
					for start := 0; start <= min(pos, 3); start++ {
						require.Equal(t, byteLoop(s, start), plainRun(s, start), "fill %#x, byte %#x at %d of %d, from %d", fill, c, pos, n+1, start)
						require.Equal(t, byteLoop(s, start), plainRun(b, start))
					}
				}
			}
		}
	}
}

// BenchmarkParseAnswer is ParseMembersInPlace over a chat completion whose content is a few
// hundred words, the usage read from it.
func BenchmarkParseAnswer(b *testing.B) {
	content := ""
	for i := range 300 {
		content += "word" + string(rune('a'+i%26)) + " "
	}
	doc, err := json.Marshal(map[string]any{
		"id": "chatcmpl-123", "object": "chat.completion", "created": 1, "model": "gpt-4o",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 300, "total_tokens": 310},
	})
	require.NoError(b, err)
	out := make([]gjson.Result, 2)
	names := []string{"usage", "choices"}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !ParseMembersInPlace(doc, names, out) {
			b.Fatal("not parsed")
		}
	}
}
