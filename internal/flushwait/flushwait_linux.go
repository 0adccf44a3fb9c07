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

// Init sets c up for sock's connection, whose plain writes go through sock; a connection that is
// not a socket is flushed plainly.
func (c *Conn) Init(sock *sockio.Conn) {
	c.nc, c.out, c.raw.fd = sock.NetConn(), sock, -1
	if c.raw.rc = sock.RawConn(); c.raw.rc != nil {
		c.raw.cb = func(fd uintptr) bool { return c.step(int(fd)) }
	}
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
