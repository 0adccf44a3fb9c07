package translate

import (
	"bytes"
	"unicode/utf8"
)

// Markers of the common OpenAI chunk that carries only a text delta of the first choice, as
// OpenAI and compatible upstreams write it.
var (
	fastContent = []byte(`"choices":[{"index":0,"delta":{"content":"`)
	fastUsage   = []byte(`"usage"`)
	fastNull    = []byte(`"usage":null`)
	fastError   = []byte(`"error"`)
	fastChoices = []byte(`"choices"`)
)

// openAIFastText reads a chunk whose first choice's delta holds only "content" and whose
// finish_reason is null, with no usage and no error, in one pass of byte searches instead of a
// parse. ok is false for any other chunk (the caller then parses it fully); payload must already
// be known to be valid JSON.
func openAIFastText(payload []byte) (text string, ok bool) {
	i := bytes.Index(payload, fastContent)
	if i < 0 {
		return "", false
	}
	start := i + len(fastContent)
	end, escaped := -1, false
	for j := start; j < len(payload); j++ {
		c := payload[j]
		if c == '"' {
			end = j
			break
		}
		if c == '\\' {
			escaped = true
			j++
		}
	}
	if end < 0 {
		return "", false
	}
	rest := payload[end+1:]
	// The delta holds only content; the choice ends with a null finish_reason (after an optional
	// null logprobs) and is the only one.
	switch {
	case bytes.HasPrefix(rest, []byte(`},"finish_reason":null}]`)):
		rest = rest[len(`},"finish_reason":null}]`):]
	case bytes.HasPrefix(rest, []byte(`},"logprobs":null,"finish_reason":null}]`)):
		rest = rest[len(`},"logprobs":null,"finish_reason":null}]`):]
	default:
		return "", false
	}
	if !plainTop(payload[:i]) || !plainTop(rest) {
		return "", false
	}
	// The whole chunk must be valid JSON, as the full path checks: the parts around the choices
	// are flat members with scalar values, and the text a valid string.
	if !flatMembers(payload[:i], true) || !flatMembers(rest, false) || !validStringBody(payload[start:end]) {
		return "", false
	}
	raw := payload[start:end]
	if !escaped {
		return string(raw), true
	}
	return unescapeJSON(raw)
}

// plainTop reports whether a part of a chunk outside its choices carries no error, no other
// choices and no usage other than null.
func plainTop(b []byte) bool {
	if bytes.Contains(b, fastError) || bytes.Contains(b, fastChoices) {
		return false
	}
	for {
		k := bytes.Index(b, fastUsage)
		if k < 0 {
			return true
		}
		if !bytes.HasPrefix(b[k:], fastNull) {
			return false
		}
		b = b[k+len(fastNull):]
	}
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

// flatMembers reports whether b is a run of `"key":scalar` members without whitespace: for the
// head of an object (head true) `{` then members each followed by a comma; for its tail (after
// the choices array) members each preceded by a comma, then `}`.
func flatMembers(b []byte, head bool) bool {
	if head {
		if len(b) == 0 || b[0] != '{' {
			return false
		}
		b = b[1:]
	}
	for {
		if head && len(b) == 0 {
			return true
		}
		if !head {
			if len(b) == 1 && b[0] == '}' {
				return true
			}
			if len(b) == 0 || b[0] != ',' {
				return false
			}
			b = b[1:]
		}
		n := stringLen(b)
		if n < 0 || n >= len(b) || b[n] != ':' {
			return false
		}
		b = b[n+1:]
		if n = scalarLen(b); n < 0 {
			return false
		}
		b = b[n:]
		if head {
			if len(b) == 0 || b[0] != ',' {
				return false
			}
			b = b[1:]
		}
	}
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
