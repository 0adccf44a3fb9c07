// Package freeport hands out loopback ports for servers that tests and tools start as separate
// programs, which must be told a port before they listen.
//
// The usual way, asking the kernel for port 0 and closing the listener, leaves the port free for
// the kernel to hand out again before the program binds it: to any other listener on port 0, to
// an outgoing connection, or to the next such request. Two programs then race for one port; the
// loser exits with EADDRINUSE, and whoever probes the port reaches the winner. Ports here come
// from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), which the kernel never
// picks on its own, and one process never hands out the same port twice.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the first port handed out: below it sit the well-known services.
const lowest = 10000

var (
	mu    sync.Mutex
	taken = map[int]bool{}
)

// Take returns a loopback port that is free now, outside the kernel's ephemeral range, and not
// returned before by this process.
func Take() (int, error) {
	return TakeIf(func(int) bool { return true })
}

// TakeIf is Take for a port that also satisfies ok (ok may check a companion port).
func TakeIf(ok func(port int) bool) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	highest := ephemeralLow() - 1
	if highest-lowest < 1000 {
		return 0, errors.New("freeport: the kernel's ephemeral range leaves too few ports below it")
	}
	for range 10000 {
		port := lowest + rand.IntN(highest-lowest+1) //nolint:gosec // spreading, not secrecy
		if taken[port] || !Free(port) || !ok(port) {
			continue
		}
		taken[port] = true
		return port, nil
	}
	return 0, errors.New("freeport: no free port found")
}

// Free reports whether a loopback listener can bind port now.
func Free(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default where it
// cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}
