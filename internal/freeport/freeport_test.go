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
	got, err := TakeWith(10000)
	require.NoError(t, err)
	require.True(t, Free(got))
	require.True(t, Free(got+10000))
	require.Less(t, got+10000, ephemeralLow(), "the companion outside the ephemeral range too")
	for range 200 {
		p, err := Take()
		require.NoError(t, err)
		require.NotEqual(t, got+10000, p, "the companion is taken with its port")
	}
}
