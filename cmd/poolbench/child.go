package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyPrefix starts the line a self-spawned child prints on stdout once it accepts connections.
const readyPrefix = "poolbench-ready "

// child is one server process started by the benchmark.
type child struct {
	name string
	cmd  *exec.Cmd
	pid  int
	url  string // http://127.0.0.1:port
	// debugAddr serves runtime profiles (Poolgate's DEBUG_ADDR) when -profile is set.
	debugAddr string
	// stdin is kept open while the parent lives: a self-spawned child exits when it closes.
	stdin  io.Closer
	exited chan struct{}
}

// children tracks every process started, to stop them all at the end.
type children struct {
	mu   sync.Mutex
	list []*child
}

// startSelf re-executes this binary with args and waits for its ready line, which carries the
// URL it listens on.
func (cs *children) startSelf(ctx context.Context, name string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...) //nolint:gosec // this very binary
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	c, err := cs.start(name, cmd)
	if err != nil {
		return nil, err
	}
	c.stdin = stdin
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, readyPrefix) {
				lines <- strings.TrimPrefix(line, readyPrefix)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case c.url = <-lines:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before it was ready: %v", name, cmd.ProcessState)
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("%s was not ready within 15s", name)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start runs cmd and registers it for stopAll.
func (cs *children) start(name string, cmd *exec.Cmd) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	cs.mu.Lock()
	cs.list = append(cs.list, c)
	cs.mu.Unlock()
	return c, nil
}

// stop asks the child to terminate (SIGTERM), then kills it after grace.
func (c *child) stop(grace time.Duration) {
	if c.stdin != nil {
		_ = c.stdin.Close()
	}
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// stopAll stops every child, the most recently started first.
func (cs *children) stopAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for i := len(cs.list) - 1; i >= 0; i-- {
		cs.list[i].stop(10 * time.Second)
	}
	cs.list = nil
}

// announce prints the ready line for the parent and arranges for the process to exit when the
// parent goes away (its end of stdin closes) or sends SIGTERM/SIGINT (done is closed).
func announce(url string) (done <-chan struct{}) {
	fmt.Println(readyPrefix + url)
	ch := make(chan struct{})
	var once sync.Once
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		once.Do(func() { close(ch) })
	}()
	go func() {
		sig := make(chan os.Signal, 1)
		signalNotify(sig)
		<-sig
		once.Do(func() { close(ch) })
	}()
	return ch
}

// errExit reports a child's fatal error and returns its exit code.
func errExit(what string, err error) int {
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "poolbench %s: %v\n", what, err)
		return 1
	}
	return 0
}
