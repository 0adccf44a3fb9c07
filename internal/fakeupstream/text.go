package fakeupstream

import (
	"math/rand/v2"
	"unicode"
	"unicode/utf8"
)

// isSpace reports whether the rune starting s is whitespace, and its width.
func isSpace(s string) (bool, int) {
	if c := s[0]; c < utf8.RuneSelf {
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f', 1
	}
	r, n := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r), n
}

// countWords counts the whitespace-separated words of s, as len(strings.Fields(s)) would,
// without allocating.
func countWords(s string) int {
	words, inWord := 0, false
	for len(s) > 0 {
		sp, n := isSpace(s)
		if !sp && !inWord {
			words++
		}
		inWord = !sp
		s = s[n:]
	}
	return words
}

// nextChunk splits the first stream chunk off s: leading whitespace plus one word, with the
// trailing whitespace of s attached to its last word. Concatenating every chunk gives back s; a
// text of n >= 1 words gives n chunks. It returns "" and "" when s is empty.
func nextChunk(s string) (chunk, rest string) {
	i := 0
	for i < len(s) {
		sp, n := isSpace(s[i:])
		if !sp {
			break
		}
		i += n
	}
	for i < len(s) {
		sp, n := isSpace(s[i:])
		if sp {
			break
		}
		i += n
	}
	for j := i; j < len(s); {
		sp, n := isSpace(s[j:])
		if !sp {
			return s[:i], s[i:]
		}
		j += n
	}
	return s, ""
}

const hexDigits = "0123456789abcdef"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendID appends n random alphanumeric characters, the shape of provider ids such as
// "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG".
func appendID(dst []byte, n int) []byte {
	var bits uint64
	for i := range n {
		if i%10 == 0 {
			bits = rand.Uint64() //nolint:gosec // ids must look random and not collide, not be secret
		}
		dst = append(dst, idAlphabet[bits%62])
		bits /= 62
	}
	return dst
}

// requestID returns an id in the shape of OpenAI's x-request-id header.
func requestID() string {
	var b [4 + 32]byte
	copy(b[:], "req_")
	for i, bits := 4, uint64(0); i < len(b); i++ {
		if i%16 == 4 {
			bits = rand.Uint64() //nolint:gosec // ids must look random and not collide, not be secret
		}
		b[i] = hexDigits[bits&0xf]
		bits >>= 4
	}
	return string(b[:])
}
