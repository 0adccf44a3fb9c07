package flushwait

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// raw is the raw connection and the read callback, made once per connection; fd is the socket
// while a flush runs inside the callback (-1 otherwise).
type raw struct {
	rc syscall.RawConn
	cb func(fd uintptr) bool
	fd int
}

// Init sets c up for nc; a connection that is not a socket is flushed plainly.
func (c *Conn) Init(nc net.Conn) {
	c.nc, c.raw.fd = nc, -1
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw.rc = rc
	c.raw.cb = func(fd uintptr) bool { return c.step(int(fd)) }
}

// writeRaw writes p to fd, a non-blocking socket, and what it cannot take at once through nc
// (which waits for room as net does).
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
			m, err := nc.Write(p[n:])
			return n + m, err
		default:
			return n, &net.OpError{Op: "write", Net: "tcp", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: os.NewSyscallError("write", err)}
		}
	}
	return n, nil
}
