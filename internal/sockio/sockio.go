// Package sockio reads and writes a connection's socket with system calls the Go scheduler does
// not see.
//
// Go's net package makes each read and write through the scheduler's system-call path
// (entersyscall/exitsyscall). Under a gateway's load that path costs more than the calls: a
// goroutine entering a system call while every P is idle wakes the runtime's monitor thread
// (sysmon) from its deep sleep, which then polls every 20 µs for a millisecond and more; and a
// call that spans one of its polls (a loopback write pays for the reader's side of the network
// stack) has its P handed to another thread, whose wake-up and the caller's wait for a P on its
// return are two more context switches. Measured under poolbench's load (c=64, ~14,000 calls a
// second): 2,800 sleeps of the monitor a second, 98 % of its wake-ups from the socket reads of the
// inbound and upstream connections, 120 P hand-offs a second.
//
// A socket of the net package is non-blocking: a read or write returns at once, with what it
// could do or EAGAIN, so it may be made as a raw system call (syscall.RawSyscall) inside a
// syscall.RawConn callback, which keeps the poller's waiting, deadlines and close for the
// EAGAIN case exactly as net's own Read and Write do. A Conn that is not a socket (TLS, a
// test's pipe) is read and written through its own methods.
package sockio

import (
	"io"
	"net"
	"syscall"
)

// Conn reads and writes one connection. Its zero value is unusable; Init sets it up. Read and
// Write may run at the same time (in two goroutines), as net.Conn's; two Reads (or two Writes)
// may not.
type Conn struct {
	nc net.Conn
	rc syscall.RawConn // nil: nc is read and written through its methods

	rcb  func(fd uintptr) bool // the read callback, made once
	rp   []byte
	rn   int
	rerr syscall.Errno

	wcb  func(fd uintptr) bool // the write callback, made once
	wp   []byte
	wn   int
	werr syscall.Errno
}

// Init sets c up for nc.
func (c *Conn) Init(nc net.Conn) {
	c.nc = nc
	rc, err := RawConn(nc)
	if !rawCapable || rc == nil || err != nil {
		return
	}
	c.rc = rc
	c.rcb = func(fd uintptr) bool {
		n, e := ReadFD(fd, c.rp)
		if e == syscall.EAGAIN {
			return false // the poller waits for the socket to be readable, then this runs again
		}
		c.rn, c.rerr = n, e
		return true
	}
	c.wcb = func(fd uintptr) bool {
		for len(c.wp) > 0 {
			n, e := WriteFD(fd, c.wp)
			if n > 0 {
				c.wn += n
				c.wp = c.wp[n:]
			}
			switch e {
			case 0:
			case syscall.EAGAIN:
				return false // the poller waits for room, then this runs again
			default:
				c.werr = e
				return true
			}
		}
		return true
	}
}

// NetConn is the connection c reads and writes.
func (c *Conn) NetConn() net.Conn { return c.nc }

// RawConn is the raw connection c reads and writes through (nil: c uses the connection's own
// Read and Write).
func (c *Conn) RawConn() syscall.RawConn { return c.rc }

// RawConn is nc's raw connection: nil (and no error) when nc is not a socket of the net package
// (TLS, a pipe); an error when it is one whose raw connection cannot be had (closed).
func RawConn(nc net.Conn) (syscall.RawConn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, nil
	}
	return sc.SyscallConn()
}

// Read reads as net.Conn's Read does: what the socket has, waiting for it under the read
// deadline; io.EOF when the peer has ended its side.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rc == nil {
		return c.nc.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.rp, c.rn, c.rerr = p, 0, 0
	err := c.rc.Read(c.rcb)
	n := c.rn
	c.rp = nil
	if err := c.outcome("read", err, c.rerr); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p as net.Conn's Write does, waiting for room under the write deadline.
func (c *Conn) Write(p []byte) (int, error) {
	if c.rc == nil {
		return c.nc.Write(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.wp, c.wn, c.werr = p, 0, 0
	err := c.rc.Write(c.wcb)
	c.wp = nil
	return c.wn, c.outcome("write", err, c.werr)
}

// outcome is a raw read's or write's error, worded as net's (nil: none): err the raw
// connection's (a closed connection, a deadline), e the system call's.
func (c *Conn) outcome(op string, err error, e syscall.Errno) error {
	switch {
	case err != nil:
		return c.opError(op, err)
	case e != 0:
		return c.opError(op, syscallError(op, e))
	}
	return nil
}

// opError words err as net's Read and Write do: a *net.OpError naming the operation (the raw
// connection's errors come as one already, named "raw-read" or "raw-write").
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok { //nolint:errorlint // the raw connection's own error, not wrapped
		oe.Op = op
		return oe
	}
	return &net.OpError{Op: op, Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
}
