package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTake(t *testing.T) {
	t.Parallel()
	low := ephemeralLow()
	seen := map[int]bool{}
	for range 200 {
		port, err := Take()
		require.NoError(t, err)
		require.GreaterOrEqual(t, port, lowest)
		require.Less(t, port, low, "outside the kernel's ephemeral range")
		require.False(t, seen[port], "port %d handed out twice", port)
		seen[port] = true
	}
}

func TestTakeSkipsPortsInUse(t *testing.T) {
	t.Parallel()
	port, err := Take()
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	defer l.Close()
	require.False(t, Free(port))
	got, err := TakeIf(func(p int) bool { return p%2 == 0 })
	require.NoError(t, err)
	require.Zero(t, got%2)
	require.True(t, Free(got))
}
