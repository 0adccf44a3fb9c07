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
	"slices"
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
func Take() (int, error) { return TakeWith() }

// TakeWith is Take for a port p whose companions p+offset (a Redis cluster node's bus port, say)
// are free, outside the ephemeral range and not returned before too; they are taken with it.
func TakeWith(offsets ...int) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	highest := ephemeralLow() - 1
	for _, off := range offsets {
		highest = min(highest, ephemeralLow()-1-off)
	}
	if highest-lowest < 1000 {
		return 0, errors.New("freeport: the kernel's ephemeral range leaves too few ports below it")
	}
	for range 10000 {
		port := lowest + rand.IntN(highest-lowest+1) //nolint:gosec // spreading, not secrecy
		if !available(port) || slices.ContainsFunc(offsets, func(off int) bool { return !available(port + off) }) {
			continue
		}
		taken[port] = true
		for _, off := range offsets {
			taken[port+off] = true
		}
		return port, nil
	}
	return 0, errors.New("freeport: no free port found")
}

// available reports whether port is neither handed out already nor in use (mu held).
func available(port int) bool { return !taken[port] && Free(port) }

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
