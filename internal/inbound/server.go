// Package inbound is the HTTP/1.1 server of Poolgate's public listener.
//
// It serves an http.Handler as net/http's Server does, for what a gateway's callers send:
// keep-alive and pipelined HTTP/1.0 and 1.1 requests with Content-Length or chunked bodies,
// Expect: 100-continue, answers framed by Content-Length (computed for small answers), chunked
// or by closing, flushed streams, hijacking, graceful shutdown. Requests are parsed by
// http.ReadRequest and checked as net/http checks them (Host, header names and values, header
// size: 400, 431, 417 and 505 answers in net/http's words).
//
// What it does differently is what net/http spends per call beyond that: net/http starts a
// goroutine on every request that reads ahead on the connection to notice a caller going away
// (one read(2) that finds nothing, a goroutine, and two deadline changes to stop it), and sets
// read and write deadlines around each request. Here one sweeper goroutine per server, on a
// coarse clock, enforces the idle and header timeouts and closes what overstays; and it starts
// watching a connection for its caller leaving only once a call has run for WatchAfter with its
// body read (a long wait for an upstream's answer). A stream notices a caller that left on its
// next write, as before; a call waiting for its answer notices within WatchAfter plus a sweep.
package inbound

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Server's settings.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 1 << 20
	DefaultWatchAfter        = time.Second
	// sweepEvery is the sweeper's period: the precision of the timeouts and of the clock the
	// connections' states are stamped with.
	sweepEvery = 250 * time.Millisecond
)

// Server serves HTTP/1.x on listeners. Set its fields before the first Serve.
type Server struct {
	Handler http.Handler
	// ReadHeaderTimeout bounds the time from a request's first byte to the end of its headers.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a kept-alive connection.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and headers (431 beyond).
	MaxHeaderBytes int
	// WatchAfter is how long a call runs, its body read, before its connection is watched for the
	// caller going away (the request's context is then cancelled when it does).
	WatchAfter time.Duration
	// Log receives handler panics and accept errors (nil: discarded).
	Log *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	started   bool
	closing   atomic.Bool
	stop      chan struct{}
	// clock is the sweeper's coarse clock (unix nanoseconds), read by the connections when they
	// change state; the timeouts are checked against it.
	clock atomic.Int64
}

func (s *Server) init() {
	// s.mu held
	if s.started {
		return
	}
	s.started = true
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if s.WatchAfter <= 0 {
		s.WatchAfter = DefaultWatchAfter
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.listeners = map[net.Listener]struct{}{}
	s.conns = map[*conn]struct{}{}
	s.stop = make(chan struct{})
	s.clock.Store(time.Now().UnixNano())
	go s.sweep()
}

// Serve accepts connections on l and serves each in its own goroutine until Shutdown or Close,
// then returns http.ErrServerClosed (or the listener's error).
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.init()
	if s.closing.Load() {
		s.mu.Unlock()
		_ = l.Close()
		return http.ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) { // EMFILE and the like: wait, go on
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Log.Error("inbound: accept", "error", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			_ = nc.Close()
			return http.ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// ListenAndServe listens on addr (TCP) and serves it.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Shutdown stops accepting, closes the idle connections (and those that never sent a byte),
// lets the others finish their request
// (each closes once answered) and returns when none is left, or with ctx's error when ctx ends
// first (the remaining connections are then left to finish on their own).
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginClose()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		for c := range s.conns {
			if st := c.state.Load(); st == stateIdle || st == stateNew {
				_ = c.nc.Close()
			}
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			s.stopSweeper()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.beginClose()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.stopSweeper()
	return nil
}

func (s *Server) beginClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.closing.Store(true)
	for l := range s.listeners {
		_ = l.Close()
	}
}

func (s *Server) stopSweeper() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// sweep ticks the coarse clock and closes the connections that overstay their idle or header
// timeout; it starts watching the connections of long calls for their caller leaving.
func (s *Server) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			ns := now.UnixNano()
			s.clock.Store(ns)
			s.mu.Lock()
			for c := range s.conns {
				c.check(ns)
			}
			s.mu.Unlock()
		}
	}
}

// now is the coarse clock.
func (s *Server) now() int64 { return s.clock.Load() }
