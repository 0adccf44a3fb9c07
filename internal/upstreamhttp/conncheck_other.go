//go:build !linux

package upstreamhttp

import "net"

// connCheck is always true where no non-blocking peek is available: a closed connection then
// fails the call that takes it.
type connCheck struct{}

func (*connCheck) init(net.Conn) {}

func (*connCheck) alive() bool { return true }

// closedBefore cannot tell here whether the upstream had closed the connection before a request
// came: a request that met a closed connection is not sent again.
func (*connCheck) closedBefore() bool { return false }
