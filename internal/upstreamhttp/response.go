package upstreamhttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/poolgate/poolgate/internal/cancelhook"
	"github.com/poolgate/poolgate/internal/header"
)

// maxHeaderBytes bounds the status line and headers of one answer (and a chunked body's trailer).
const maxHeaderBytes = 1 << 20

// max1xx bounds the informational answers skipped before the final one (net/http's bound).
const max1xx = 5

// errHeaderTooLong is an answer whose headers pass maxHeaderBytes.
var errHeaderTooLong = errors.New("upstreamhttp: response headers exceed 1 MiB")

// protocolError is an answer that is not valid HTTP/1.x.
type protocolError struct{ msg string }

func (e protocolError) Error() string { return "upstreamhttp: malformed HTTP response: " + e.msg }

// readResponse reads the status line and headers of the final answer to req (informational 1xx
// answers are skipped), with hs as the space for the headers. The body is left in br.
func readResponse(br *bufio.Reader, req *http.Request, hs *headerScratch) (*http.Response, error) {
	budget := maxHeaderBytes
	for n := 0; ; n++ {
		line, err := readLine(br, &budget)
		if err != nil {
			return nil, err
		}
		resp, err := parseStatus(line)
		if err != nil {
			return nil, err
		}
		if resp.Header, err = readHeader(br, &budget, hs); err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return nil, protocolError{"unexpected 101 Switching Protocols"}
			}
			if n >= max1xx {
				return nil, protocolError{"too many 1xx informational responses"}
			}
			continue
		}
		resp.Request = req
		return resp, frame(resp, req)
	}
}

// parseStatus parses "HTTP/1.1 200 OK".
func parseStatus(line []byte) (*http.Response, error) {
	proto, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return nil, protocolError{"status line " + strconv.Quote(string(line))}
	}
	resp := &http.Response{ProtoMajor: 1}
	switch string(proto) {
	case "HTTP/1.1":
		resp.Proto, resp.ProtoMinor = "HTTP/1.1", 1
	case "HTTP/1.0":
		resp.Proto = "HTTP/1.0"
	default:
		return nil, protocolError{"protocol " + strconv.Quote(string(proto))}
	}
	code, text, _ := bytes.Cut(rest, []byte{' '})
	if len(code) != 3 || code[0] < '1' || code[0] > '5' || !isDigit(code[1]) || !isDigit(code[2]) {
		return nil, protocolError{"status code " + strconv.Quote(string(code))}
	}
	resp.StatusCode = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if resp.StatusCode == http.StatusOK && string(text) == "OK" {
		resp.Status = "200 OK" // the common answer, without building it
	} else if t := http.StatusText(resp.StatusCode); t != "" && string(text) == t {
		resp.Status = strconv.Itoa(resp.StatusCode) + " " + t
	} else {
		resp.Status = string(bytes.TrimSpace(rest))
	}
	return resp, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readLine reads one line without its CR LF, charging its length to budget.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(long) > *budget {
				return nil, errHeaderTooLong
			}
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, errHeaderTooLong
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// headerScratch is a connection's reusable space for reading a header block: the fields'
// canonical names and values back to back, and where each field's name and value begin.
type headerScratch struct {
	text   []byte
	fields []fieldSpan
}

// fieldSpan is one field in headerScratch.text: its name is text[name:value], its value
// text[value:end].
type fieldSpan struct{ name, value, end int }

// maxKeptScratch bounds the header text a connection keeps for its next answer.
const maxKeptScratch = 64 << 10

// readHeader reads header fields up to the empty line that ends them. All names and values share
// one string and all values one slice (a field's []string is a one-element window of it, whose
// capacity ends there, so appending to it copies): three allocations per header block rather
// than two per field. With hs nil the fields are checked and dropped (a chunked body's trailer),
// and the header returned is nil.
func readHeader(br *bufio.Reader, budget *int, hs *headerScratch) (http.Header, error) {
	var text []byte
	var fields []fieldSpan
	if hs != nil {
		text, fields = hs.text[:0], hs.fields[:0]
	}
	for {
		line, err := readLine(br, budget)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, protocolError{"obsolete line folding in header"}
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || !validName(k) {
			return nil, protocolError{"header line " + strconv.Quote(string(line))}
		}
		v = header.TrimOWS(v)
		if !validValue(v) {
			return nil, protocolError{"header value of " + strconv.Quote(string(k))}
		}
		if hs == nil {
			continue
		}
		f := fieldSpan{name: len(text)}
		text = appendCanonical(text, k)
		f.value = len(text)
		text = append(text, v...)
		f.end = len(text)
		fields = append(fields, f)
	}
	if hs == nil {
		return nil, nil
	}
	h := make(http.Header, len(fields))
	all := string(text)
	values := make([]string, len(fields))
	for i, f := range fields {
		key := all[f.name:f.value]
		values[i] = all[f.value:f.end]
		if vs, ok := h[key]; ok {
			h[key] = append(vs, values[i])
		} else {
			h[key] = values[i : i+1 : i+1]
		}
	}
	if cap(text) > maxKeptScratch {
		text, fields = nil, nil
	}
	hs.text, hs.fields = text[:0], fields[:0]
	return h, nil
}

// appendCanonical appends k, a valid field name (validName), in canonical form as
// http.CanonicalHeaderKey writes it: upper case at the start and after each '-', lower case
// elsewhere.
func appendCanonical(dst, k []byte) []byte {
	upper := true
	for _, c := range k {
		switch {
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// frame sets the answer's framing (ContentLength, TransferEncoding, Close) from its headers,
// refusing framing that could desynchronise the connection.
func frame(resp *http.Response, req *http.Request) error {
	h := resp.Header
	resp.Close = closes(resp)
	te := h["Transfer-Encoding"]
	cl := h["Content-Length"]
	noBody := req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified
	if len(te) > 0 {
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") || resp.ProtoMinor == 0 {
			return protocolError{"unsupported transfer encoding " + strconv.Quote(strings.Join(te, ","))}
		}
		delete(h, "Transfer-Encoding")
		delete(h, "Content-Length") // chunked framing wins over a length (RFC 9112 §6.3)
		if noBody {
			resp.ContentLength = 0
			return nil
		}
		resp.TransferEncoding, resp.ContentLength = []string{"chunked"}, -1
		return nil
	}
	resp.ContentLength = -1
	if len(cl) > 0 {
		for _, v := range cl[1:] {
			if v != cl[0] {
				return protocolError{"conflicting Content-Length"}
			}
		}
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil || cl[0] == "" || cl[0][0] == '+' {
			return protocolError{"Content-Length " + strconv.Quote(cl[0])}
		}
		resp.ContentLength = int64(n)
	}
	if noBody {
		if req.Method != http.MethodHead {
			resp.ContentLength = 0
		}
		return nil
	}
	if resp.ContentLength < 0 {
		resp.Close = true // the body ends when the upstream closes the connection
	}
	return nil
}

// closes reports whether the connection ends with this answer.
func closes(resp *http.Response) bool {
	conn := resp.Header["Connection"]
	hasToken := func(tok string) bool {
		for _, v := range conn {
			for f := range strings.SplitSeq(v, ",") {
				if strings.EqualFold(strings.TrimSpace(f), tok) {
					return true
				}
			}
		}
		return false
	}
	if resp.ProtoMinor == 0 {
		return !hasToken("keep-alive")
	}
	if hasToken("close") {
		delete(resp.Header, "Connection")
		return true
	}
	return false
}

// The kinds of answer body.
const (
	bodyEmpty = iota
	bodyLength
	bodyChunked
	bodyToClose
)

// errBodyClosed is a read after Close.
var errBodyClosed = errors.New("http: read on closed response body")

// body is an answer's body read from its connection. Read and Close may run on different
// goroutines (Close cuts a pending Read); finishing happens once.
type body struct {
	c      *conn
	ctx    context.Context
	stop   cancelhook.Registration // the cancellation hook: Stop is false once it ran
	keep   bool                    // the connection may serve another request after this body
	kind   int
	left   int64     // bodyLength: bytes still to read
	chunks io.Reader // bodyChunked
	err    error     // sticky, owned by the reading goroutine
	done   atomic.Bool
	// mu is held by Read; Close drains the body's end only when no Read is pending.
	mu sync.Mutex
	// silence bounds the wait for each read's first bytes (0: none), failing it with silentErr.
	silence   time.Duration
	silentErr error
	draining  bool // Close reads the end under its own short deadline
}

// BoundSilence makes every read of the body that waits longer than d for its first bytes fail
// with err (the connection is then closed): the connection's read deadline, d ahead as each read
// begins (or up to d/16 more: it is moved once every d/16, not per read, keepReadDeadline),
// rather than a timer per answer. A read waits only when the answer has sent nothing since the
// last one returned, so the bound is on the answer's silence: it is never cut before it has been
// silent for d. It reports false when d is not positive (nothing bound).
func (b *body) BoundSilence(d time.Duration, err error) bool {
	if d <= 0 {
		return false
	}
	b.silence, b.silentErr = d, err
	return true
}

// inBuffer reports whether what is left of the body is all in the connection's buffer already: a
// read then cannot wait, and needs no deadline (a whole answer's body usually arrives with its
// headers; the deadline left from them stays for the next request's, conn.armHeader).
func (b *body) inBuffer() bool {
	return b.kind == bodyLength && int64(b.c.br.Buffered()) >= b.left
}

// arm sets the connection's read deadline for one read: d ahead under a silence bound, else none
// (the header timeout's cleared once the body is read).
func (b *body) arm() error {
	switch {
	case b.silence > 0: // kept while it falls within the bound and a sixteenth more
		return b.c.keepReadDeadline(time.Now().Add(b.silence), slack(b.silence))
	case b.hasDeadline(): // the header timeout's: a body read without a bound
		return b.c.setReadDeadline(time.Time{})
	}
	return nil
}

// hasDeadline reports whether the connection has a read deadline (the header timeout's, the
// silence bound's or Close's drain). A connection is pooled with it: the next request's
// conn.armHeader replaces or keeps it.
func (b *body) hasDeadline() bool { return !b.c.readDeadline.IsZero() }

// Buffered reports how many bytes the connection has read ahead for the body (with a chunked
// body's framing): a read then returns them without waiting for the upstream.
func (b *body) Buffered() int {
	if b.done.Load() {
		return 0
	}
	return b.c.br.Buffered()
}

// Close drains a chunked body's end for at most drainBytes and drainWait: a stream's reader
// often stops at its own end marker ("data: [DONE]") while the chunked terminator is still on
// the wire, and a connection can be reused only once that terminator is read.
const (
	drainBytes = 4 << 10
	drainWait  = 5 * time.Millisecond
)

func newChunkReader(br *bufio.Reader) io.Reader { return httputil.NewChunkedReader(br) }

// Read reads the body; it returns io.EOF with the last bytes.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read(p)
}

func (b *body) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done.Load() {
		return 0, errBodyClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n   int
		err error
	)
	if (b.silence > 0 || b.hasDeadline()) && !b.draining && !b.inBuffer() {
		if err := b.arm(); err != nil {
			b.finish(false)
			b.err = err
			return 0, err
		}
	}
	switch b.kind {
	case bodyLength:
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err = b.c.br.Read(p)
		b.left -= int64(n)
		if err == nil && b.left == 0 {
			b.finish(true)
			err = io.EOF
		} else if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
	case bodyChunked:
		n, err = b.chunks.Read(p)
		if errors.Is(err, io.EOF) {
			budget := maxHeaderBytes
			if _, terr := readHeader(b.c.br, &budget, nil); terr != nil { // the trailer, dropped
				err = fmt.Errorf("read chunked trailer: %w", terr)
			} else {
				b.finish(true)
			}
		} else if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("read chunked body: %w", err)
		}
	default:
		n, err = b.c.br.Read(p)
		if errors.Is(err, io.EOF) {
			b.finish(false)
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		b.finish(false)
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		} else if b.silence > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			err = b.silentErr
		} else if b.done.Load() && !errors.Is(err, io.ErrUnexpectedEOF) && isClosedConn(err) {
			err = errBodyClosed
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// Close ends the body. A body not read to its end closes its connection.
func (b *body) Close() error {
	if b.kind == bodyChunked && !b.done.Load() && b.mu.TryLock() {
		if b.err == nil && b.ctx.Err() == nil && b.c.setReadDeadline(time.Now().Add(drainWait)) == nil {
			b.draining = true
			var buf [512]byte
			for n := 0; n < drainBytes && b.err == nil; {
				k, _ := b.read(buf[:])
				n += k
			}
		}
		b.mu.Unlock()
	}
	b.finish(false)
	return nil
}

// finish releases the connection once: back to the pool when the answer was read whole and the
// connection is still good, else closed.
func (b *body) finish(whole bool) {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	stopped := b.stop.Stop()
	// The read deadline stays armed: the next request's conn.armHeader keeps or moves it, and a
	// connection taken after a long idle has it cleared first (Transport.conn).
	if whole && b.keep && stopped && b.c.br.Buffered() == 0 {
		b.c.t.put(b.c)
		return
	}
	_ = b.c.nc.Close()
}
