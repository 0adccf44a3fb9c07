// Package testsvc starts real third-party services for tests from the pinned Node tools in
// tools/node (installed by `make node` and .ci/run): maildev as an SMTP server with an HTTP
// API, and oidc-provider as a local OpenID Connect provider. Each service listens on free
// loopback ports and is stopped when the test ends. A missing tool fails the test (it never
// skips), so CI cannot pass without it.
package testsvc

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/freeport"
	"github.com/poolgate/poolgate/internal/nodetool"
)

// NodeDir is tools/node (nodetool finds it; a missing tool or node fails the test).
func NodeDir(t testing.TB) string {
	t.Helper()
	nodetool.Node(t)
	return filepath.Dir(nodetool.Modules(t))
}

// FreePort returns a loopback port that is free now and that neither the kernel nor this test
// process hands to anyone else (package freeport).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.Take()
	require.NoError(t, err)
	return port
}

// process is a started Node program whose output is kept for failure reports.
type process struct {
	cmd  *exec.Cmd
	out  *LockedBuffer
	done chan struct{}
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers (a process's output, an app's log).
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs node with args in dir (its own process group) and stops it, group and all, when
// the test ends.
func start(t testing.TB, dir string, env []string, stdin io.Reader, args ...string) *process {
	t.Helper()
	cmd := exec.Command(nodetool.Node(t), args...) //nolint:gosec // fixed program, arguments from the test
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	p := &process{cmd: cmd, out: &LockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start(), "start node %v", args)
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// waitReady waits until ready succeeds, failing the test with the program's output if it exits
// or does not become ready within 30 seconds.
func (p *process) waitReady(t testing.TB, what string, ready func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready:\n%s", what, p.out.String())
		case <-ctx.Done():
			t.Fatalf("%s was not ready within 30s:\n%s", what, p.out.String())
		case <-tick.C:
		}
	}
}

// dialable reports whether something accepts connections on the port.
func dialable(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
