package inbound

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/poolgate/poolgate/internal/header"
)

// holdSize is how much of an answer is held before its headers go out: an answer that ends
// within it gets a Content-Length, a longer one (or one flushed) is chunked.
const holdSize = 4 << 10

var holdPool = sync.Pool{New: func() any { b := make([]byte, 0, holdSize); return &b }}

// response is the http.ResponseWriter of one request (also http.Flusher, http.Hijacker and what
// http.ResponseController looks for).
type response struct {
	c    *conn
	req  *http.Request
	body requestBody

	header http.Header
	head   bool // a HEAD request: no body is sent
	// wroteHeader: the status line and the handler's headers are in the connection's buffer;
	// committed: the framing headers and the blank line too (the body follows).
	wroteHeader, committed bool
	clen                   int64 // the handler's Content-Length (-1: none)
	written                int64 // body bytes the handler wrote
	chunked                bool
	noBody                 bool // the status allows no body
	// What the handler's headers said, noted when they were written.
	haveType, haveDate, handlerChunked, handlerClose bool
	closeAfter                                       bool // the connection closes after this answer
	expectContinue, continueDone, sentContinue       bool
	hijacked                                         bool
	expectFailed                                     bool    // an expectation other than 100-continue: 417
	fullDuplex                                       bool    // EnableFullDuplex: the body is left to the handler
	hold                                             *[]byte // the answer's first bytes (nil: none held)
	err                                              error   // a failed write: the caller is gone
}

// Header is the answer's header map.
func (w *response) Header() http.Header { return w.header }

// WriteHeader writes the status line and the handler's headers; the header map's later changes
// are not sent (as with net/http).
func (w *response) WriteHeader(code int) {
	if w.hijacked || w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	h := w.Header()
	if code < 200 && code != http.StatusSwitchingProtocols { // informational: sent at once
		w.writeHead(code, h)
		_, _ = w.c.bw.WriteString("\r\n")
		if err := w.c.bw.Flush(); err != nil {
			w.fail(err)
		}
		return
	}
	w.wroteHeader = true
	w.noBody = code < 200 || code == http.StatusNoContent || code == http.StatusNotModified
	if cl := h["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64); err == nil && n >= 0 {
			w.clen = n
		} else {
			delete(h, "Content-Length")
		}
	}
	if te := h["Transfer-Encoding"]; len(te) > 0 {
		if w.clen < 0 && w.req.ProtoAtLeast(1, 1) && httpguts.HeaderValuesContainsToken(te, "chunked") {
			w.handlerChunked = true
		} else {
			delete(h, "Transfer-Encoding")
		}
	}
	_, w.haveType = h["Content-Type"]
	_, w.haveDate = h["Date"]
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.handlerClose, w.closeAfter = true, true
	}
	w.writeHead(code, h)
}

// writeHead writes the status line and h, sorted by name, values on one line each (a line
// break in a value becomes a space).
func (w *response) writeHead(code int, h http.Header) {
	bw := w.c.bw
	if w.req.ProtoAtLeast(1, 1) {
		_, _ = bw.WriteString("HTTP/1.1 ")
	} else {
		_, _ = bw.WriteString("HTTP/1.0 ")
	}
	_, _ = bw.Write(strconv.AppendInt(w.c.scratch[:0], int64(code), 10))
	_ = bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString(text)
	} else {
		_, _ = bw.WriteString("status code ")
		_, _ = bw.Write(strconv.AppendInt(w.c.scratch[:0], int64(code), 10))
	}
	_, _ = bw.WriteString("\r\n")
	var kb [24]string
	keys := kb[:0]
	for k := range h {
		if httpguts.ValidHeaderFieldName(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			_, _ = bw.WriteString(k)
			_, _ = bw.WriteString(": ")
			writeValue(bw, v)
			_, _ = bw.WriteString("\r\n")
		}
	}
}

// indexLineBreak is the index of v's first CR or LF (-1: none).
func indexLineBreak(v string) int {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// writeValue writes a header value with its line breaks as spaces and its ends trimmed.
func writeValue(bw *bufio.Writer, v string) {
	v = header.TrimOWS(v)
	for {
		i := indexLineBreak(v)
		if i < 0 {
			_, _ = bw.WriteString(v)
			return
		}
		_, _ = bw.WriteString(v[:i])
		_ = bw.WriteByte(' ')
		v = v[i+1:]
	}
}

// commit writes the framing headers and the blank line, then the held bytes. final: the
// handler is done, so all of the answer is held and its length is known.
func (w *response) commit(final bool) {
	w.committed = true
	bw := w.c.bw
	var held []byte
	if w.hold != nil {
		held = *w.hold
	}
	length, addTE := int64(-1), false
	switch {
	case w.noBody, w.clen >= 0:
	case w.handlerChunked:
		w.chunked = true
	case w.head:
		if final && w.written > 0 {
			length = w.written
		}
	case final:
		length = w.written
	case w.req.ProtoAtLeast(1, 1):
		addTE, w.chunked = true, true
	default: // HTTP/1.0: the answer ends with the connection
		w.closeAfter = true
	}
	if w.c.s.closing.Load() {
		w.closeAfter = true
	}
	w.settleBody()
	// The headers the server adds, after the handler's, in net/http's order.
	if !w.haveDate {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(appendDate(w.c.scratch[:0]))
		_, _ = bw.WriteString("\r\n")
	}
	if length >= 0 {
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.Write(strconv.AppendInt(w.c.scratch[:0], length, 10))
		_, _ = bw.WriteString("\r\n")
	}
	if !w.haveType && !w.noBody && len(held) > 0 {
		_, _ = bw.WriteString("Content-Type: ")
		_, _ = bw.WriteString(http.DetectContentType(held))
		_, _ = bw.WriteString("\r\n")
	}
	switch {
	case w.closeAfter && !w.handlerClose && w.req.ProtoAtLeast(1, 1): // HTTP/1.0 closes unless asked not to
		_, _ = bw.WriteString("Connection: close\r\n")
	case !w.closeAfter && !w.req.ProtoAtLeast(1, 1):
		_, _ = bw.WriteString("Connection: keep-alive\r\n")
	}
	if addTE {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, _ = bw.WriteString("\r\n")
	if w.hold != nil {
		if len(held) > 0 && !w.head {
			_, _ = w.writeBody(held)
		}
		*w.hold = held[:0]
		holdPool.Put(w.hold)
		w.hold = nil
	}
}

// Write sends (or holds) the answer's bytes.
func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(len(p))
	if w.clen >= 0 && w.written > w.clen {
		return 0, http.ErrContentLength
	}
	if !w.committed {
		if w.hold == nil {
			w.hold = holdPool.Get().(*[]byte)
		}
		if len(*w.hold)+len(p) <= holdSize {
			*w.hold = append(*w.hold, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	if w.head {
		return len(p), nil
	}
	return w.writeBody(p)
}

// WriteString is Write for a string.
func (w *response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *response) writeBody(p []byte) (int, error) {
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.Write(strconv.AppendInt(w.c.scratch[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunked {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.fail(err)
		return n, err
	}
	return len(p), nil
}

// fail notes a failed write: the caller is gone, so the request's context ends and the
// connection closes.
func (w *response) fail(err error) {
	if w.err == nil {
		w.err = err
		w.closeAfter = true
		w.c.readFailed()
	}
}

// Flush sends what was written so far.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting a failed write (http.ResponseController.Flush).
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	if w.err != nil {
		return w.err
	}
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// finish completes the answer once the handler returned, sends it, and reads what the handler
// left of the request's body (the connection closes when that is too much).
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	bw := w.c.bw
	if w.chunked && w.err == nil {
		_, _ = bw.WriteString("0\r\n\r\n")
	}
	if w.clen >= 0 && w.written != w.clen && !w.head && !w.noBody {
		w.closeAfter = true // a short answer: the caller could not find where the next begins
	}
	if err := bw.Flush(); err != nil {
		w.fail(err)
	}
	w.settleBody() // what the handler read after its headers went out
}

// settleBody makes the connection ready for the next request once the handler is done with
// the request's body, as net/http does when it writes the headers: a rest of at most
// discardLimit bytes is read and thrown away; a longer one (or a body the caller was never
// asked to send) closes the connection after the answer. It goes by the body as the request
// came (w.body), not by the request's fields, which the handler may have changed (a middleware
// that wraps r.Body, say).
func (w *response) settleBody() {
	b := &w.body
	if w.closeAfter || b.rc == nil || b.eof || w.fullDuplex {
		return
	}
	if w.expectContinue && !w.sentContinue {
		w.closeAfter = true
		return
	}
	if b.size > 0 && b.size-b.read >= discardLimit {
		w.closeAfter, w.c.linger = true, true
		return
	}
	switch _, err := io.CopyN(io.Discard, b.rc, discardLimit+1); {
	case err == nil:
		w.closeAfter, w.c.linger = true, true
	case errors.Is(err, io.EOF):
		b.eof = true
	default:
		w.closeAfter = true
	}
}

// Hijack hands the connection over to the handler.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	c := w.c
	c.stopWatch()
	if w.wroteHeader && !w.committed {
		w.commit(false)
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	c.setState(stateGone)
	c.s.forget(c)
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline sets the connection's read deadline (http.ResponseController).
func (w *response) SetReadDeadline(t time.Time) error { return w.c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline (http.ResponseController).
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex lets the handler read its request's body after its answer's headers went out
// (http.ResponseController); otherwise the unread rest is settled when they go out.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// date is the Date header's value for the current second.
type date struct {
	sec int64
	b   []byte
}

var lastDate atomic.Pointer[date]

func appendDate(dst []byte) []byte {
	now := time.Now()
	d := lastDate.Load()
	if d == nil || d.sec != now.Unix() {
		d = &date{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
		lastDate.Store(d)
	}
	return append(dst, d.b...)
}
