// Package header reads HTTP header fields by their canonical names, and trims their values.
// http.Header.Get canonicalizes the name it is given on every call; the gateway's hot path reads
// a handful of fields per call, all by names written in canonical form, and the headers it reads
// are stored under canonical names (net/http's, the inbound server's and the upstream client's
// readers canonicalize them).
package header

import "net/http"

// Get is http.Header.Get for a name already in canonical form
// (textproto.CanonicalMIMEHeaderKey(name) == name): the field's first value, "" when it has none.
func Get(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// TrimOWS is a field value without its optional whitespace (RFC 9110: spaces and tabs) at either
// end: strings.Trim(v, " \t") without building the cutset's set on every call.
func TrimOWS[T ~string | ~[]byte](v T) T {
	i, j := 0, len(v)
	for i < j && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t') {
		j--
	}
	return v[i:j]
}
