//go:build !linux

package upstreamhttp

import (
	"bufio"
	"net"
)

// connCheck is always true where no non-blocking peek is available: a closed connection then
// fails the call that takes it.
type connCheck struct{}

func (*connCheck) init(net.Conn) {}

func (*connCheck) alive() bool { return true }

// sendWait flushes w (where no raw connection is used, the answer is then read as usual).
func (*connCheck) sendWait(w *bufio.Writer) (writeErr, readErr error) { return w.Flush(), nil }

// rawFD is -1: connWriter always writes through the connection.
func (*connCheck) rawFD() int { return -1 }

func writeRaw(int, net.Conn, []byte) (int, error) { panic("unreachable") }
