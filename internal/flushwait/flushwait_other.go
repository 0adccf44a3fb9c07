//go:build !linux

package flushwait

import (
	"net"
	"syscall"
)

// raw is unused here: FlushWait flushes plainly.
type raw struct {
	rc syscall.RawConn
	cb func(fd uintptr) bool
	fd int
}

// Init sets c up for nc (a plain flush on this platform).
func (c *Conn) Init(nc net.Conn) { c.nc, c.raw.fd = nc, -1 }

func writeRaw(int, net.Conn, []byte) (int, error) { panic("flushwait: no raw writes on this platform") }
