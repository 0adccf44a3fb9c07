package inbound

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/poolgate/poolgate/internal/header"
)

// maxFastHeaders bounds the header lines the fast path reads; a request with more goes to
// net/http's reader.
const maxFastHeaders = 32

// readSimple reads a plain request whose line and headers are already buffered in br, in one
// pass and a handful of allocations, as http.ReadRequest would read it. It takes only what it is
// sure of: an HTTP/1.1 request of a common method, a path of plain characters, header lines of
// token names and printable ASCII values ending in CRLF, one Host, at most one Content-Length
// of digits and no Transfer-Encoding, Pragma or Trailer. Anything else (and a request whose
// headers have not all arrived) is left unread, ok false, for http.ReadRequest, whose answers
// and errors it then keeps. TestReadSimpleSameAsNetHTTP and FuzzReadSimple hold the two to the
// same result.
//
// The request is written into dst, which the caller reuses (the connection's template: the
// handler gets a copy of it with the request's context, http.Request.WithContext).
func readSimple(br *bufio.Reader, dst *http.Request) (req *http.Request, ok bool) {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	// One string holds the line and every header: the request's strings are parts of it.
	s := string(buf[:end+2])
	lineEnd := indexCRLF(s, 0)
	if lineEnd < 0 {
		return nil, false
	}
	method, rest, ok := cut(s[:lineEnd], ' ')
	if !ok {
		return nil, false
	}
	if method = knownMethod(method); method == "" {
		return nil, false
	}
	target, proto, ok := cut(rest, ' ')
	if !ok || proto != "HTTP/1.1" || !plainTarget(target) {
		return nil, false
	}
	path, query, hasQuery := cut(target, '?')
	// Header lines: one []string backs every value, each field's slice capped at its value, so
	// that an append by a handler copies rather than overwriting the next field's.
	lines := strings.Count(s, "\r\n") - 1
	if lines > maxFastHeaders {
		return nil, false
	}
	// The URL, the body and (for a common number of header lines) the values in one allocation.
	parts := new(requestParts)
	parts.url = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	u := &parts.url
	vals := parts.vals[:]
	if lines > len(parts.vals) {
		vals = make([]string, lines)
	}
	n := 0
	h := make(http.Header, lines)
	host, clen := "", int64(0)
	hasHost, hasLength, closeConn := false, false, false
	for i := lineEnd + 2; i < len(s); {
		e := indexCRLF(s, i)
		if e < 0 {
			return nil, false
		}
		name, value, ok := cut(s[i:e], ':')
		i = e + 2
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			return nil, false
		}
		value = header.TrimOWS(value)
		if !plainValue(value) {
			return nil, false
		}
		name = canonicalName(name)
		switch name {
		case "Host":
			if hasHost || !httpguts.ValidHostHeader(value) {
				return nil, false
			}
			host, hasHost = value, true
			continue // http.ReadRequest keeps it in req.Host only
		case "Content-Length":
			if hasLength {
				return nil, false
			}
			if clen, ok = digits(value); !ok {
				return nil, false
			}
			hasLength = true
		case "Transfer-Encoding", "Pragma", "Trailer":
			return nil, false
		case "Connection":
			closeConn = closeConn || httpguts.HeaderValuesContainsToken([]string{value}, "close")
		}
		vals[n] = value
		if vv := h[name]; vv != nil {
			h[name] = append(vv, value)
		} else {
			h[name] = vals[n : n+1 : n+1]
		}
		n++
	}
	if !hasHost {
		return nil, false
	}
	if _, err := br.Discard(end + 4); err != nil {
		return nil, false
	}
	*dst = http.Request{
		Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: host, RequestURI: target, Close: closeConn, ContentLength: clen, Body: http.NoBody,
	}
	req = dst
	if clen > 0 {
		parts.body = fixedBody{br: br, left: clen}
		req.Body = &parts.body
	}
	return req, true
}

// requestParts is what readSimple makes for a request besides its text and header map.
type requestParts struct {
	url  url.URL
	body fixedBody
	vals [20]string // the header values of a request of up to 20 lines (an official SDK sends ~17)
}

// indexCRLF is the index of the next CRLF in s from i (-1: none). A CR or LF alone before it
// makes the line one the fast path does not take (-1 too).
func indexCRLF(s string, i int) int {
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\r':
			if j+1 < len(s) && s[j+1] == '\n' {
				return j
			}
			return -1
		case '\n':
			return -1
		}
	}
	return -1
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// knownMethods are the methods the fast path takes.
var knownMethods = [...]string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete,
	http.MethodPatch, http.MethodHead, http.MethodOptions}

// knownMethod returns the method as a constant (no string of its own), or "" for one the fast
// path leaves to net/http.
func knownMethod(m string) string {
	for _, k := range knownMethods {
		if m == k {
			return k
		}
	}
	return ""
}

// plainTarget reports whether t is an origin-form target that url.ParseRequestURI takes as it is:
// a path of the characters its escaping leaves alone (letters, digits, "-_.~$&+,/:;=@": no
// escapes to undo, no RawPath to keep), and a query of printable ASCII without '#'.
func plainTarget(t string) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	i := 0
	for ; i < len(t) && t[i] != '?'; i++ {
		c := t[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		switch c {
		case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
			continue
		}
		return false
	}
	for ; i < len(t); i++ {
		if c := t[i]; c == '#' || c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// plainValue reports whether v is printable ASCII (tabs and spaces inside allowed).
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// canonicalName is textproto.CanonicalMIMEHeaderKey without its copy for a name already in
// canonical form (the common case).
func canonicalName(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(name)
		}
		upper = c == '-'
	}
	return name
}

// digits parses a Content-Length of 1 to 18 decimal digits.
func digits(v string) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// fixedBody is a request body of a known length read from the connection's reader, as
// net/http's: the last bytes come with io.EOF, a body cut short is io.ErrUnexpectedEOF, and a
// read after Close fails.
type fixedBody struct {
	br     *bufio.Reader
	left   int64
	closed bool
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	switch {
	case b.left == 0:
		return n, io.EOF
	case err == io.EOF: //nolint:errorlint // bufio returns io.EOF itself
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *fixedBody) Close() error {
	b.closed = true
	return nil
}
