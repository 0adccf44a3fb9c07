//go:build !linux

package flushwait

import (
	"io"
	"net"
	"syscall"

	"github.com/poolgate/poolgate/internal/sockio"
)

// raw is unused here: FlushWait flushes plainly.
type raw struct {
	rc syscall.RawConn
	cb func(fd uintptr) bool
	fd int
}

// Init sets c up for sock's connection, written through sock (a plain flush on this platform).
func (c *Conn) Init(sock *sockio.Conn) { c.nc, c.out, c.raw.fd = sock.NetConn(), sock, -1 }

func writeRaw(int, net.Conn, io.Writer, []byte) (int, error) {
	panic("flushwait: no raw writes on this platform")
}
