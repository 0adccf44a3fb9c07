//go:build !linux

package flushwait

import (
	"io"
	"net"
	"syscall"
)

// raw is unused here: FlushWait flushes plainly.
type raw struct {
	rc syscall.RawConn
	cb func(fd uintptr) bool
	fd int
}

// Init sets c up for nc, whose writes go to out (a plain flush on this platform).
func (c *Conn) Init(nc net.Conn, out io.Writer) { c.nc, c.out, c.raw.fd = nc, out, -1 }

func writeRaw(int, net.Conn, io.Writer, []byte) (int, error) {
	panic("flushwait: no raw writes on this platform")
}
