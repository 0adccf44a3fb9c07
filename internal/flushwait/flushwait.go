// Package flushwait sends the last bytes of a message and waits for the peer's reply without the
// read(2) that would find nothing yet.
//
// Go's net reads first and waits on the poller only when the read finds nothing (EAGAIN). On a
// connection where one side writes a message and then waits for the other's reply (a request
// and its answer, an answer and the next request), that first read almost always finds nothing:
// one system call per exchange for nothing. Conn.FlushWait writes from inside a
// syscall.RawConn.Read callback, after the poller was armed for the read, so the read then waits
// for the reply's first bytes directly; the caller's next read finds them.
//
// Arming the poller forgets a readiness it had already noted: bytes that arrived before
// FlushWait began are not noticed until more arrive. So FlushWait is only for a reply that can
// only follow the message (an upstream's answer to the request just written: an upstream that
// closed the connection meanwhile answers the written request with a reset, which wakes the
// wait). It is not for a server waiting for its caller's next request, which a pipelining caller
// may have sent already.
package flushwait

import (
	"bufio"
	"io"
	"net"
)

// Conn is the raw side of one connection, for one goroutine at a time. Its zero value flushes
// plainly; Init sets it up for a connection (once).
type Conn struct {
	nc   net.Conn
	out  io.Writer // where plain writes go (see Init)
	raw  raw       // the platform's part: the raw connection and the callback (flushwait_linux.go)
	w    *bufio.Writer
	sent bool
	err  error // the flush's error
}

// Writer is what the connection's bufio.Writer should write to: the connection, or its socket
// directly while FlushWait flushes from inside the read.
func (c *Conn) Writer() Writer { return Writer{c} }

// Writer writes to the connection (see Conn.Writer).
type Writer struct{ c *Conn }

func (w Writer) Write(p []byte) (int, error) {
	c := w.c
	if fd := c.raw.fd; fd >= 0 {
		return writeRaw(fd, c.nc, c.out, p)
	}
	return c.out.Write(p)
}

// FlushWait flushes w, which must write to c.Writer(), and returns once the connection has bytes
// to read (or an error). writeErr is a failed write (or a read that could not start: nothing was
// written); readErr a failed wait: a read deadline, the connection closed.
func (c *Conn) FlushWait(w *bufio.Writer) (writeErr, readErr error) {
	if c.raw.rc == nil {
		return w.Flush(), nil
	}
	c.w, c.sent, c.err = w, false, nil
	err := c.raw.rc.Read(c.raw.cb)
	c.w = nil
	switch {
	case c.err != nil:
		return c.err, nil
	case !c.sent:
		return err, nil
	}
	return nil, err
}

// step is the read callback's work: the first call flushes and asks to wait (false); the next,
// when the connection is readable, ends the read without reading.
func (c *Conn) step(fd int) bool {
	if c.sent {
		return true
	}
	c.sent, c.raw.fd = true, fd
	c.err = c.w.Flush()
	c.raw.fd = -1
	return c.err != nil
}
