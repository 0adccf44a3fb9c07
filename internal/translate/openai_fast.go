package translate

import (
	"bytes"
	"unicode/utf8"
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
		n := stringLen(b)
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
			if n = stringLen(b); n < 0 {
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
			if n = scalarLen(b); n < 0 {
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

// stringLen is the length of the valid JSON string at the start of b, or -1.
func stringLen(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return -1
	}
	for j := 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			if !validStringBody(b[1:j]) {
				return -1
			}
			return j + 1
		case '\\':
			j++
		}
	}
	return -1
}

// scalarLen is the length of the string, number, true, false or null at the start of b, or -1.
func scalarLen(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	switch b[0] {
	case '"':
		return stringLen(b)
	case 't':
		return literalLen(b, "true")
	case 'f':
		return literalLen(b, "false")
	case 'n':
		return literalLen(b, "null")
	}
	return numberLen(b)
}

func literalLen(b []byte, lit string) int {
	if len(b) >= len(lit) && string(b[:len(lit)]) == lit {
		return len(lit)
	}
	return -1
}

// numberLen is the length of the JSON number at the start of b, or -1.
func numberLen(b []byte) int {
	j := 0
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		j = digits(b, j)
	default:
		return -1
	}
	if j < len(b) && b[j] == '.' {
		k := digits(b, j+1)
		if k == j+1 {
			return -1
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := digits(b, j)
		if k == j {
			return -1
		}
		j = k
	}
	return j
}

func digits(b []byte, j int) int {
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	return j
}

// validStringBody reports whether b (between the quotes) is a valid JSON string body: no
// control characters, no unescaped quote, only valid escapes.
func validStringBody(b []byte) bool {
	for j := 0; j < len(b); j++ {
		c := b[j]
		switch {
		case c < 0x20 || c == '"':
			return false
		case c == '\\':
			j++
			if j >= len(b) {
				return false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+5 > len(b) {
					return false
				}
				for _, h := range b[j+1 : j+5] {
					if !isHex(h) {
						return false
					}
				}
				j += 4
			default:
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
