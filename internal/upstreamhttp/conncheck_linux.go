package upstreamhttp

import (
	"net"
	"syscall"

	"github.com/poolgate/poolgate/internal/sockio"
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
}

func (k *connCheck) init(nc net.Conn) {
	rc, err := sockio.RawConn(nc)
	if err != nil {
		k.broken = true
		return
	}
	if rc == nil {
		return
	}
	k.rc = rc
	k.peek = func(fd uintptr) bool {
		_, e := sockio.PeekFD(fd) // raw: no scheduler system-call path (sockio's package comment)
		k.good = e == syscall.EAGAIN
		return true // never wait
	}
}

func (k *connCheck) alive() bool {
	if k.rc == nil {
		return !k.broken
	}
	k.good = false
	err := k.rc.Read(k.peek)
	return err == nil && k.good
}

// closedBefore reports, after a request written on the connection met its end (no byte of an
// answer), whether the upstream had closed it before the request came: the upstream's end came
// first (the socket had it when the request was written), then a reset for the request, which
// TCP reports as EPIPE on a socket whose peer had ended (a peer that read the request and then
// closed sends no reset). A rare path: one getsockopt.
func (k *connCheck) closedBefore() bool {
	if k.rc == nil {
		return false
	}
	var soErr int
	var gerr error
	if err := k.rc.Control(func(fd uintptr) {
		soErr, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	}); err != nil || gerr != nil {
		return false
	}
	return syscall.Errno(soErr) == syscall.EPIPE //nolint:gosec // an errno
}
