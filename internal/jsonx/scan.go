package jsonx

import (
	"math/bits"
	"unsafe"

	"github.com/tidwall/gjson"
)

// maxDepth bounds the nesting the scanner follows; deeper documents are rejected (no upstream or
// caller sends anything close to it, and it keeps the recursion bounded on hostile input).
const maxDepth = 512

// scanner checks JSON text in one pass while it walks an object's members. It accepts exactly
// what gjson.Valid accepts (RFC 8259 syntax, any bytes from 0x20 in strings), so decoders can
// validate and read a document's top level in a single pass instead of validating first and then
// walking it again.
type scanner struct {
	s     string
	i     int
	depth int
	esc   bool // the last string scanned holds an escape
	other bool // a member not in the names asked for was met
}

// ParseMembers validates body as one JSON object and reads its members named in names: out[i]
// becomes the first member named names[i] (absent members stay the zero Result). The Results
// point into one copy of body. ok is false when body is not a valid JSON object.
func ParseMembers(body []byte, names []string, out []gjson.Result) bool {
	p := scanner{s: string(body)}
	return p.top(names, out)
}

// ParseMembersInPlace is ParseMembers without the copy: the Results point into body itself, so
// they are read before body changes (a pooled buffer is reused, say) and not kept past that.
func ParseMembersInPlace(body []byte, names []string, out []gjson.Result) bool {
	p := scanner{s: unsafe.String(unsafe.SliceData(body), len(body))} //nolint:gosec // read only, and the Results not kept past body (documented above)
	return p.top(names, out)
}

// top scans the whole text as one object.
func (p *scanner) top(names []string, out []gjson.Result) bool {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return false
	}
	if !p.object(names, out) {
		return false
	}
	p.space()
	return p.i == len(p.s)
}

func (p *scanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// object scans the object at p.i ('{'); when names is not nil, its members are matched against
// them into out.
func (p *scanner) object(names []string, out []gjson.Result) bool {
	if p.depth++; p.depth > maxDepth {
		return false
	}
	p.i++ // '{'
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.depth--
		return true
	}
	for {
		p.space()
		k0 := p.i
		if !p.str() {
			return false
		}
		key, esc := p.s[k0+1:p.i-1], p.esc
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return false
		}
		p.i++
		p.space()
		v0 := p.i
		if !p.value() {
			return false
		}
		if names != nil {
			p.match(key, esc, v0, names, out)
		}
		p.space()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// match stores the value starting at v0 (and ending at p.i) when its member name is wanted.
func (p *scanner) match(key string, esc bool, v0 int, names []string, out []gjson.Result) {
	if esc {
		key = gjson.Parse(`"` + key + `"`).Str
	}
	for i, n := range names {
		if key == n {
			if !out[i].Exists() {
				out[i] = gjson.Parse(p.s[v0:p.i])
			} else {
				p.other = true // a repeated member: not the simple shape either
			}
			return
		}
	}
	p.other = true
}

func (p *scanner) array() bool {
	if p.depth++; p.depth > maxDepth {
		return false
	}
	p.i++ // '['
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return true
	}
	for {
		p.space()
		if !p.value() {
			return false
		}
		p.space()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// value scans any JSON value at p.i.
func (p *scanner) value() bool {
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; c {
	case '{':
		return p.object(nil, nil)
	case '[':
		return p.array()
	case '"':
		return p.str()
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	default:
		return p.number()
	}
}

func (p *scanner) literal(lit string) bool {
	if n := literalLen(p.s[p.i:], lit); n > 0 {
		p.i += n
		return true
	}
	return false
}

// str scans a string at p.i ('"'): no control characters, only valid escapes.
func (p *scanner) str() bool {
	end, esc := stringEnd(p.s, p.i)
	if end < 0 {
		return false
	}
	p.i, p.esc = end, esc
	return true
}

// number scans a JSON number at p.i.
func (p *scanner) number() bool {
	end := numberEnd(p.s, p.i)
	if end < 0 {
		return false
	}
	p.i = end
	return true
}

// text is what the token functions read: a string or a byte slice.
type text interface{ ~string | ~[]byte }

// StringLen is the length of the valid JSON string (quotes included) at the start of s, or -1.
func StringLen[T text](s T) int {
	end, _ := stringEnd(s, 0)
	return end
}

// ScalarLen is the length of the valid JSON string, number, true, false or null at the start of
// s, or -1.
func ScalarLen[T text](s T) int {
	if len(s) == 0 {
		return -1
	}
	switch s[0] {
	case '"':
		return StringLen(s)
	case 't':
		return literalLen(s, "true")
	case 'f':
		return literalLen(s, "false")
	case 'n':
		return literalLen(s, "null")
	}
	return numberEnd(s, 0)
}

// literalLen is len(lit) when s starts with lit, else -1.
func literalLen[T text](s T, lit string) int {
	if len(s) < len(lit) {
		return -1
	}
	for i := range len(lit) {
		if s[i] != lit[i] {
			return -1
		}
	}
	return len(lit)
}

// plainByte marks the bytes a JSON string holds as they are: not a control character, a quote or
// a backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringEnd returns the index just after the valid JSON string starting at s[i] ('"'), or -1; esc
// reports whether it holds an escape.
func stringEnd[T text](s T, i int) (end int, esc bool) {
	if i >= len(s) || s[i] != '"' {
		return -1, false
	}
	j := i + 1
	for {
		j = plainRun(s, j)
		if j >= len(s) {
			return -1, false
		}
		switch s[j] {
		case '"':
			return j + 1, esc
		case '\\':
			if !validEscape(s, j) {
				return -1, false
			}
			esc = true
			if s[j+1] == 'u' {
				j += 6
			} else {
				j += 2
			}
		default: // a control character
			return -1, false
		}
	}
}

// plainRun returns the index of the first byte from j on that is not plainByte (len(s): none),
// eight bytes at a time while eight remain: an answer's text is mostly long strings.
func plainRun[T text](s T, j int) int {
	for ; j+8 <= len(s); j += 8 {
		if m := specialBytes(load64(s, j)); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	for j < len(s) && plainByte[s[j]] {
		j++
	}
	return j
}

// load64 is s[j:j+8] as a little-endian word (one load).
func load64[T text](s T, j int) uint64 {
	b := s[j : j+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialBytes marks, with its high bit, each byte of x that is not plainByte: a quote, a
// backslash or a control character. Only the lowest mark is exact (a borrow may mark a byte
// above a marked one), which is the one plainRun reads.
func specialBytes(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b | (x-ones*0x20)&^x) & highs
}

// validEscape reports whether s[j] (a backslash) starts a valid escape.
func validEscape[T text](s T, j int) bool {
	if j+1 >= len(s) {
		return false
	}
	switch s[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if j+6 > len(s) {
			return false
		}
		for k := j + 2; k < j+6; k++ {
			if !isHex(s[k]) {
				return false
			}
		}
		return true
	}
	return false
}

// numberEnd returns the index just after the valid JSON number starting at s[i], or -1.
func numberEnd[T text](s T, i int) int {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && s[j] >= '1' && s[j] <= '9':
		j = digitsEnd(s, j)
	default:
		return -1
	}
	if j < len(s) && s[j] == '.' {
		k := digitsEnd(s, j+1)
		if k == j+1 {
			return -1
		}
		j = k
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := digitsEnd(s, j)
		if k == j {
			return -1
		}
		j = k
	}
	return j
}

func digitsEnd[T text](s T, j int) int {
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return j
}

// ParseMembersOnly is ParseMembers for an object that must have no members besides names (each
// at most once): ok is false otherwise.
func ParseMembersOnly(body []byte, names []string, out []gjson.Result) bool {
	p := scanner{s: string(body)}
	return p.top(names, out) && !p.other
}

// MembersOnly is Members for an object that must have no members besides names (each at most
// once): ok is false otherwise.
func MembersOnly(obj gjson.Result, names []string, out []gjson.Result) bool {
	if !obj.IsObject() {
		return false
	}
	p := scanner{s: obj.Raw}
	p.space()
	return p.object(names, out) && !p.other
}

// Members reads the members named in names of obj, a JSON object already known to be valid, in
// one pass over it: out[i] becomes the first member named names[i]; members that are absent stay
// the zero Result.
func Members(obj gjson.Result, names []string, out []gjson.Result) {
	if !obj.IsObject() {
		return
	}
	p := scanner{s: obj.Raw}
	p.space()
	p.object(names, out)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
