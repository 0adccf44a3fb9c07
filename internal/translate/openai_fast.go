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
	// The chunk that ends the answer: an empty delta and the finish reason.
	fastFinish   = []byte(`[{"index":0,"delta":{},"finish_reason":"`)
	fastFinishLP = []byte(`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"`)
)

// fastChunk is what openAIFastText read: the text delta ("" for none) or the finish reason
// (finish non-empty: the chunk that ends the answer, with no text), and where the chunk's
// "choices" member begins.
type fastChunk struct {
	text, finish string
	head         int
}

// openAIFastText reads a chunk whose first choice's delta holds only "content" and whose
// finish_reason is null, or whose delta is empty and whose finish_reason is a plain string, with
// no usage (or a null one) and no error, in one validating pass over its members instead of a
// parse. ok is false for any other chunk, and for anything that is not compact valid JSON (the
// caller then parses it fully and reports what is wrong).
//
// A stream's chunks begin alike (id, object, created, model, fingerprint): c.head is where this
// chunk's "choices" member begins, and a later chunk that begins with known, the part before
// head of a chunk this function accepted, is read from there without checking known again.
func openAIFastText(payload, known []byte) (c fastChunk, ok bool) {
	b := payload
	if len(b) < 2 || b[0] != '{' {
		return fastChunk{}, false
	}
	b = b[1:]
	if len(known) > 1 && bytes.HasPrefix(payload, known) {
		b = payload[len(known):] // at a member's key, as after '{' or ','
	}
	var raw []byte
	escaped, choices := false, false
	for {
		n := jsonx.StringLen(b)
		if n < 0 || n >= len(b) || b[n] != ':' {
			return fastChunk{}, false
		}
		key := b[1 : n-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return fastChunk{}, false // a key spelled with escapes: left to the parser
		}
		at := len(payload) - len(b)
		b = b[n+1:]
		switch string(key) {
		case "choices":
			if choices {
				return fastChunk{}, false
			}
			choices, c.head = true, at
			if f, rest, ok := fastFinishReason(b); ok {
				c.finish, b = f, rest
				break
			}
			if !bytes.HasPrefix(b, fastChoice) {
				return fastChunk{}, false
			}
			b = b[len(fastChoice)-1:] // at the text's opening quote
			if n = jsonx.StringLen(b); n < 0 {
				return fastChunk{}, false
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
				return fastChunk{}, false
			}
		case "usage":
			if !bytes.HasPrefix(b, []byte("null")) {
				return fastChunk{}, false
			}
			b = b[len("null"):]
		case "error":
			return fastChunk{}, false
		default:
			if n = jsonx.ScalarLen(b); n < 0 {
				return fastChunk{}, false
			}
			b = b[n:]
		}
		if len(b) == 1 && b[0] == '}' {
			break
		}
		if len(b) == 0 || b[0] != ',' {
			return fastChunk{}, false
		}
		b = b[1:]
	}
	if !choices {
		return fastChunk{}, false
	}
	if c.finish != "" {
		return c, true
	}
	if !escaped {
		c.text = string(raw)
		return c, true
	}
	c.text, ok = unescapeJSON(raw)
	return c, ok
}

// fastFinishReason reads the choices of the chunk that ends an answer (fastFinish, with a finish
// reason spelt without escapes) at the start of b, and returns the reason and what follows.
func fastFinishReason(b []byte) (string, []byte, bool) {
	switch {
	case bytes.HasPrefix(b, fastFinish):
		b = b[len(fastFinish)-1:]
	case bytes.HasPrefix(b, fastFinishLP):
		b = b[len(fastFinishLP)-1:]
	default:
		return "", nil, false
	}
	n := jsonx.StringLen(b)
	if n < 3 || bytes.IndexByte(b[1:n-1], '\\') >= 0 || !bytes.HasPrefix(b[n:], []byte("}]")) {
		return "", nil, false // an empty or escaped reason is left to the parser
	}
	return string(b[1 : n-1]), b[n+2:], true
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
