package sockio_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/sockio"
)

// pair is a loopback TCP connection: ours wrapped in a sockio.Conn, and the peer's.
func pair(t *testing.T) (*sockio.Conn, net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	peer, ok := <-accepted
	require.True(t, ok)
	t.Cleanup(func() { _ = nc.Close(); _ = peer.Close() })
	var c sockio.Conn
	c.Init(nc)
	return &c, nc, peer
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// More than the sockets' buffers take at once, both ways at the same time: the writes wait for
// room (EAGAIN, then the poller) and the reads for bytes, and every byte arrives in order.
func TestReadAndWriteAsNetDoes(t *testing.T) {
	t.Parallel()
	c, _, peer := pair(t)
	out, in := random(t, 8<<20), random(t, 8<<20)

	peerGot := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		peerGot <- b
	}()
	peerWrote := make(chan error, 1)
	go func() {
		_, err := peer.Write(in)
		peerWrote <- err
		_ = peer.(*net.TCPConn).CloseWrite()
	}()
	wrote := make(chan error, 1)
	go func() {
		n, err := c.Write(out)
		if err == nil && n != len(out) {
			err = io.ErrShortWrite
		}
		wrote <- err
		_ = c.NetConn().(*net.TCPConn).CloseWrite()
	}()

	var got bytes.Buffer
	buf := make([]byte, 32<<10)
	var err error
	for {
		var n int
		n, err = c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	require.ErrorIs(t, err, io.EOF, "the peer's end reads as io.EOF, as net's")
	require.NoError(t, <-wrote)
	require.NoError(t, <-peerWrote)
	assert.True(t, bytes.Equal(in, got.Bytes()), "read %d bytes of %d", got.Len(), len(in))
	assert.True(t, bytes.Equal(out, <-peerGot))

	n, err := c.Read(nil)
	assert.Zero(t, n)
	assert.NoError(t, err, "an empty read reads nothing, as net's")
	n, err = c.Write(nil)
	assert.Zero(t, n)
	assert.NoError(t, err)
}

func TestReadDeadlineTimesOutAsNetDoes(t *testing.T) {
	t.Parallel()
	c, nc, peer := pair(t)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
	_, err := c.Read(make([]byte, 16))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "read", oe.Op)

	// With the deadline cleared, what the peer sends is read.
	require.NoError(t, nc.SetReadDeadline(time.Time{}))
	_, err = peer.Write([]byte("hello"))
	require.NoError(t, err)
	b := make([]byte, 16)
	n, err := c.Read(b)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b[:n]))
}

func TestClosedConnectionAsNetDoes(t *testing.T) {
	t.Parallel()
	c, nc, _ := pair(t)
	// A read waiting for bytes ends when the connection is closed on this side.
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 16))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, nc.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not end when its connection closed")
	}
	_, err := c.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
}

func TestPeerResetAsNetDoes(t *testing.T) {
	t.Parallel()
	c, _, peer := pair(t)
	require.NoError(t, peer.(*net.TCPConn).SetLinger(0)) // close sends a reset
	require.NoError(t, peer.Close())
	time.Sleep(20 * time.Millisecond)
	_, err := c.Read(make([]byte, 16))
	require.ErrorIs(t, err, syscall.ECONNRESET)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "read", oe.Op)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "read", se.Syscall)

	// Writing to a connection the peer reset fails (EPIPE), worded as net words it.
	var werr error
	for range 10 {
		if _, werr = c.Write([]byte("x")); werr != nil {
			break
		}
	}
	require.Error(t, werr)
	assert.True(t, errors.Is(werr, syscall.EPIPE) || errors.Is(werr, syscall.ECONNRESET), "%v", werr)
	require.ErrorAs(t, werr, &oe)
	assert.Equal(t, "write", oe.Op)
}

// A connection that is not a socket is read and written through its own methods.
func TestNotASocketUsesItsMethods(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var c sockio.Conn
	c.Init(a)
	go func() { _, _ = b.Write([]byte("ping")) }()
	buf := make([]byte, 4)
	_, err := io.ReadFull(&c, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf))
	go func() { _, _ = io.ReadFull(b, buf) }()
	n, err := c.Write([]byte("pong"))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}
