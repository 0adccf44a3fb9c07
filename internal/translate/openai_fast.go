package translate

import (
	"bytes"
	"unicode/utf8"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// The common OpenAI chunk's choices: only the first choice, whose delta holds only "content"
// and whose finish_reason is null (after an optional null logprobs), as OpenAI and compatible
// upstreams write it.
var (
	fastChoice = []byte(`[{"index":0,"delta":{"content":"`)
	fastEnd    = []byte(`},"finish_reason":null}]`)
	fastEndLP  = []byte(`},"logprobs":null,"finish_reason":null}]`)
)

// openAIFastText reads a chunk whose first choice's delta holds only "content" and whose
// finish_reason is null, with no usage (or a null one) and no error, in one validating pass over
// its members instead of a parse. ok is false for any other chunk, and for anything that is not
// compact valid JSON (the caller then parses it fully and reports what is wrong).
func openAIFastText(payload []byte) (text string, ok bool) {
	b := payload
	if len(b) < 2 || b[0] != '{' {
		return "", false
	}
	b = b[1:]
	var raw []byte
	escaped, choices := false, false
	for {
		n := jsonx.StringLen(b)
		if n < 0 || n >= len(b) || b[n] != ':' {
			return "", false
		}
		key := b[1 : n-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return "", false // a key spelled with escapes: left to the parser
		}
		b = b[n+1:]
		switch string(key) {
		case "choices":
			if choices || !bytes.HasPrefix(b, fastChoice) {
				return "", false
			}
			choices = true
			b = b[len(fastChoice)-1:] // at the text's opening quote
			if n = jsonx.StringLen(b); n < 0 {
				return "", false
			}
			raw = b[1 : n-1]
			escaped = bytes.IndexByte(raw, '\\') >= 0
			b = b[n:]
			switch {
			case bytes.HasPrefix(b, fastEnd):
				b = b[len(fastEnd):]
			case bytes.HasPrefix(b, fastEndLP):
				b = b[len(fastEndLP):]
			default:
				return "", false
			}
		case "usage":
			if !bytes.HasPrefix(b, []byte("null")) {
				return "", false
			}
			b = b[len("null"):]
		case "error":
			return "", false
		default:
			if n = jsonx.ScalarLen(b); n < 0 {
				return "", false
			}
			b = b[n:]
		}
		if len(b) == 1 && b[0] == '}' {
			break
		}
		if len(b) == 0 || b[0] != ',' {
			return "", false
		}
		b = b[1:]
	}
	if !choices {
		return "", false
	}
	if !escaped {
		return string(raw), true
	}
	return unescapeJSON(raw)
}

// unescapeJSON decodes the body of a valid JSON string; ok is false for escapes it leaves to
// the full parser (\u sequences).
func unescapeJSON(raw []byte) (string, bool) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", false
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		default:
			return "", false
		}
	}
	if !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}
