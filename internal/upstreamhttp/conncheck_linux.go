package upstreamhttp

import (
	"bufio"
	"errors"
	"net"
	"os"
	"syscall"
)

// connCheck tells whether an idle connection may carry a request: the upstream has not closed it
// (or sent anything unasked) while it sat in the pool. One non-blocking peek, no data consumed:
// a request sent on a connection the upstream already closed would fail after it was written,
// when it can no longer be sent again safely. The raw connection and the peek callback are made
// once per connection, so a check allocates nothing; a connection is checked by one goroutine at
// a time (the one taking it from the pool).
type connCheck struct {
	rc     syscall.RawConn // nil: not a socket (always alive) or broken
	broken bool            // the raw connection could not be had: never alive
	peek   func(fd uintptr) bool
	good   bool // the last peek's outcome
	// send is sendWait's callback (made once); flush, sent, fd and sendErr its state for one
	// request. fd is the socket while the request is written from inside the callback (-1
	// otherwise): connWriter then writes to it directly.
	send    func(fd uintptr) bool
	flush   *bufio.Writer
	sent    bool
	fd      int
	sendErr error
}

func (k *connCheck) init(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		k.broken = true
		return
	}
	k.rc = rc
	k.peek = func(fd uintptr) bool {
		var b [1]byte
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		k.good = n <= 0 && (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK))
		return true // never wait
	}
	k.send = func(fd uintptr) bool {
		if k.sent { // readable: the answer has begun
			return true
		}
		k.sent, k.fd = true, int(fd)
		k.sendErr = k.flush.Flush()
		k.fd = -1
		return k.sendErr != nil
	}
	k.fd = -1
}

// sendWait writes what w holds (the end of a request) and returns once the answer can be read,
// without the read(2) that would find nothing yet: the write happens inside a read of the
// connection, after the poller was armed for it, and the read then waits for the answer's
// first bytes. writeErr is a failed write, readErr a failed wait (a deadline, the connection
// closed by a cancellation).
func (k *connCheck) sendWait(w *bufio.Writer) (writeErr, readErr error) {
	if k.rc == nil {
		return w.Flush(), nil
	}
	k.flush, k.sent, k.sendErr = w, false, nil
	err := k.rc.Read(k.send)
	k.flush = nil
	if k.sendErr != nil {
		return k.sendErr, nil
	}
	if !k.sent { // the read could not start: nothing was written
		return err, nil
	}
	return nil, err
}

// rawFD is the socket connWriter writes to directly, or -1.
func (k *connCheck) rawFD() int { return k.fd }

// writeRaw writes p to fd, a non-blocking socket, and what it cannot take at once through nc.
func writeRaw(fd int, nc net.Conn, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Write(fd, p[n:])
		if m > 0 {
			n += m
		}
		switch {
		case err == nil:
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.EAGAIN):
			m, err := nc.Write(p[n:]) // the socket's buffer is full: wait for it as net does
			return n + m, err
		default:
			return n, &net.OpError{Op: "write", Net: "tcp", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: os.NewSyscallError("write", err)}
		}
	}
	return n, nil
}

func (k *connCheck) alive() bool {
	if k.rc == nil {
		return !k.broken
	}
	k.good = false
	err := k.rc.Read(k.peek)
	return err == nil && k.good
}
