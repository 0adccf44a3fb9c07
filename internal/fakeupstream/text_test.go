package fakeupstream

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/jsonx"
)

func TestWords(t *testing.T) {
	t.Parallel()

	for _, s := range []string{"", " ", "one", "echo: hello there world", "  lead and trail \n", "a\u00a0b\u3000c\td", "é ü"} {
		require.Equal(t, len(strings.Fields(s)), countWords(s), "%q", s)
		var chunks []string
		for rest := s; rest != ""; {
			var c string
			c, rest = nextChunk(rest)
			chunks = append(chunks, c)
		}
		require.Equal(t, s, strings.Join(chunks, ""), "%q", s)
		if n := countWords(s); n > 0 {
			require.Len(t, chunks, n, "%q", s)
		}
	}
	c, rest := nextChunk("echo: hi there")
	require.Equal(t, "echo:", c)
	c, _ = nextChunk(rest)
	require.Equal(t, " hi", c)
}

func TestMaskKey(t *testing.T) {
	t.Parallel()
	require.Equal(t, "sk-abcde************wxyz", MaskKey("sk-abcde0123456789ABwxyz"))
	require.Equal(t, "sk****yz", MaskKey("sk-abcyz"))
	require.Equal(t, "***", MaskKey("abc"))
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t", "\x00\x1f\x7f", "é\u2028\u2029", "\xff\xfe bad"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := jsonx.AppendString(nil, s)
		var got string
		require.NoError(t, json.Unmarshal(b, &got), "%q", b)
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte, not each run of them.
			want = string([]rune(s))
		}
		require.Equal(t, want, got)
	})
}
