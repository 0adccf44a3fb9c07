package upstreamhttp

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle connection may carry a request: the upstream has not closed it
// (or sent anything unasked) while it sat in the pool. One non-blocking peek, no data consumed:
// a request sent on a connection the upstream already closed would fail after it was written,
// when it can no longer be sent again safely.
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	good := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		good = n <= 0 && (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK))
		return true // never wait
	})
	return err == nil && good
}
