package inbound

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simpleCases are requests for the fast path, taken or left: wherever it takes one, it must read
// what http.ReadRequest reads.
var simpleCases = []string{
	"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 5\r\n" +
		"Authorization: Bearer sk-x\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\nhello",
	"post /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\n" +
		"x-stainless-lang: js\r\nX-STAINLESS-OS: Linux\r\n\r\nhiGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /v1/models?limit=5&after=a%20b HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /v1/models? HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /v1beta/models/gemini-2.0-flash:generateContent?alt=sse&key=k HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a!b HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET //x/y HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /x HTTP/1.0\r\nHost: x\r\n\r\n",
	"GET /x HTTP/1.1\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost:\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nX-Multi: 1\r\nX-Multi: 2\r\nx-multi: 3\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Space:   \r\nX-Tab:\tv\t\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 03\r\n\r\nabc",
	"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	"HEAD /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
	"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
	"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\n Folded: 1\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nX-Bin: caf\xc3\xa9\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\nX-Lf: 1\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\nX-Cr: a\rb\r\n\r\n",
	"GET  /x HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /x  HTTP/1.1\r\nHost: x\r\n\r\n",
	"BREW /x HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /x HTTP/1.1\r\nHost: x\r\n",
}

// TestReadSimpleSameAsNetHTTP holds readSimple to http.ReadRequest on every case it takes, and
// checks it takes the plain ones (the calls SDKs make).
func TestReadSimpleSameAsNetHTTP(t *testing.T) {
	t.Parallel()
	taken := 0
	for _, raw := range simpleCases {
		if compareWithNetHTTP(t, raw) {
			taken++
		}
	}
	assert.Equal(t, 16, taken, "plain requests taken by the fast path")
	for _, raw := range simpleCases[:3] {
		_, ok := readSimple(bufio.NewReaderSize(strings.NewReader(raw), 4<<10), new(http.Request))
		assert.False(t, ok, "nothing buffered yet: %q", raw) // Peek sees only what was read
	}
}

// FuzzReadSimple: wherever the fast path takes a request, net/http reads the same one.
func FuzzReadSimple(f *testing.F) {
	for _, raw := range simpleCases {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) { compareWithNetHTTP(t, raw) })
}

// compareWithNetHTTP reads raw with both readers (the whole of it buffered first, as a request
// that has arrived) and reports whether the fast path took it; when it did, the requests, their
// bodies and what is left to read after them must be the same.
func compareWithNetHTTP(t *testing.T, raw string) bool {
	t.Helper()
	fast := buffered(t, raw)
	got, ok := readSimple(fast, new(http.Request))
	if !ok {
		assert.Equal(t, len(raw), fast.Buffered(), "a request not taken is left unread")
		return false
	}
	std := buffered(t, raw)
	want, err := http.ReadRequest(std)
	require.NoError(t, err, "the fast path took %q, which net/http refuses", raw)
	assert.Equal(t, want.Method, got.Method)
	assert.Equal(t, want.URL, got.URL, "%q", raw)
	assert.Equal(t, want.Proto, got.Proto)
	assert.Equal(t, want.ProtoMajor, got.ProtoMajor)
	assert.Equal(t, want.ProtoMinor, got.ProtoMinor)
	assert.Equal(t, want.Header, got.Header, "%q", raw)
	assert.Equal(t, want.Host, got.Host)
	assert.Equal(t, want.RequestURI, got.RequestURI)
	assert.Equal(t, want.Close, got.Close)
	assert.Equal(t, want.ContentLength, got.ContentLength)
	assert.Equal(t, want.TransferEncoding, got.TransferEncoding)
	assert.Equal(t, want.Trailer, got.Trailer)
	assert.Equal(t, want.Body == http.NoBody, got.Body == http.NoBody)
	wantBody, wantErr := io.ReadAll(want.Body)
	gotBody, gotErr := io.ReadAll(got.Body)
	assert.Equal(t, wantBody, gotBody)
	assert.Equal(t, wantErr, gotErr)
	wantRest, _ := io.ReadAll(std)
	gotRest, _ := io.ReadAll(fast)
	assert.Equal(t, string(wantRest), string(gotRest), "what follows the request")
	return true
}

// buffered is a reader holding all of raw in its buffer, as a connection's reader holds a
// request that arrived in one packet.
func buffered(t *testing.T, raw string) *bufio.Reader {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(raw), max(len(raw), 16))
	if len(raw) > 0 {
		_, err := br.Peek(len(raw))
		require.NoError(t, err)
	}
	return br
}

// BenchmarkReadRequest reads an SDK's chat call (line and headers buffered) with the fast path
// and with http.ReadRequest.
func BenchmarkReadRequest(b *testing.B) {
	raw := simpleCases[0]
	for _, bc := range []struct {
		name string
		read func(*bufio.Reader) (*http.Request, error)
	}{
		{"fast", func(br *bufio.Reader) (*http.Request, error) {
			r, ok := readSimple(br, new(http.Request))
			if !ok {
				return nil, io.ErrUnexpectedEOF
			}
			return r, nil
		}},
		{"net-http", http.ReadRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := strings.NewReader(raw)
			br := bufio.NewReaderSize(src, 4<<10)
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(raw)
				br.Reset(src)
				if _, err := br.Peek(len(raw)); err != nil {
					b.Fatal(err)
				}
				if _, err := bc.read(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
