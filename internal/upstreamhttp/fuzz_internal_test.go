package upstreamhttp

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bytesConn is a connection whose peer sent exactly the given bytes and then closed.
type bytesConn struct {
	r *bytes.Reader
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzResponse feeds arbitrary upstream answers to the response parser and the body framing: no
// panic, no hang, and a body of a declared length is either exactly that long or an error.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=1\r\na\r\n0\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"error\":1}",
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"e\r\ndata: {\"a\":1}\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := New(&http.Transport{})
		tr.dial = func(context.Context, string, string) (net.Conn, error) {
			return &bytesConn{r: bytes.NewReader(data)}, nil
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://upstream.test/v1/x", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return
		}
		if resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("final status %d", resp.StatusCode)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength {
			t.Fatalf("body of %d bytes, Content-Length %d", len(b), resp.ContentLength)
		}
		if err == nil && len(b) > len(data) {
			t.Fatalf("body of %d bytes from %d bytes of answer", len(b), len(data))
		}
	})
}

// TestReadHeader: the header fields read as net/http reads them (canonical names, values
// trimmed, repeated fields in order), and each field's values are its own to append to.
func TestReadHeader(t *testing.T) {
	t.Parallel()
	const block = "content-type: application/json\r\nX-RATELIMIT-remaining-requests:  99 \r\n" +
		"set-cookie: a=1\r\nopenai-version: 2020-10-01\r\nSet-Cookie: b=2\r\nx-weird_name.1: \t\r\n\r\n"
	var hs headerScratch
	for range 2 { // the second read reuses the scratch space
		budget := maxHeaderBytes
		h, err := readHeader(bufio.NewReader(strings.NewReader(block)), &budget, &hs)
		if err != nil {
			t.Fatal(err)
		}
		want := http.Header{
			"Content-Type":                   {"application/json"},
			"X-Ratelimit-Remaining-Requests": {"99"},
			"Set-Cookie":                     {"a=1", "b=2"},
			"Openai-Version":                 {"2020-10-01"},
			"X-Weird_name.1":                 {""},
		}
		if !reflect.DeepEqual(h, want) {
			t.Fatalf("header %v, want %v", h, want)
		}
		for k := range h {
			if k != http.CanonicalHeaderKey(k) {
				t.Fatalf("name %q is not canonical", k)
			}
		}
		h["Content-Type"] = append(h["Content-Type"], "x")
		if got := h["X-Ratelimit-Remaining-Requests"]; len(got) != 1 || got[0] != "99" {
			t.Fatalf("appending to one field changed another: %v", got)
		}
	}
	budget := maxHeaderBytes
	h, err := readHeader(bufio.NewReader(strings.NewReader("X-T: 1\r\n\r\n")), &budget, nil)
	if h != nil || err != nil {
		t.Fatalf("dropped trailer: %v, %v", h, err)
	}
	budget = maxHeaderBytes
	if _, err := readHeader(bufio.NewReader(strings.NewReader("X T: 1\r\n\r\n")), &budget, nil); err == nil {
		t.Fatal("an invalid trailer field was accepted")
	}
}
