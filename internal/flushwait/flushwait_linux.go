package flushwait

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/poolgate/poolgate/internal/sockio"
)

// raw is the raw connection and the read callback, made once per connection; fd is the socket
// while a flush runs inside the callback (-1 otherwise).
type raw struct {
	rc syscall.RawConn
	cb func(fd uintptr) bool
	fd int
}

// Init sets c up for nc, whose plain writes go to out (nc itself, or what writes to it as nc's
// Write does); a connection that is not a socket is flushed plainly.
func (c *Conn) Init(nc net.Conn, out io.Writer) {
	c.nc, c.out, c.raw.fd = nc, out, -1
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

// writeRaw writes p to fd, a non-blocking socket, and what it cannot take at once through out
// (which waits for room as net does).
func writeRaw(fd int, nc net.Conn, out io.Writer, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := sockio.WriteFD(uintptr(fd), p[n:])
		n += m
		switch err {
		case 0:
		case syscall.EAGAIN:
			m, err := out.Write(p[n:])
			return n + m, err
		default:
			return n, &net.OpError{Op: "write", Net: "tcp", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: os.NewSyscallError("write", err)}
		}
	}
	return n, nil
}
