package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/poolgate/poolgate/internal/fakeupstream"
)

func signalNotify(ch chan os.Signal) { signal.Notify(ch, os.Interrupt, syscall.SIGTERM) }

// serveUpstream is the `upstream` subcommand: the fake upstream, recording disabled.
func serveUpstream(args []string) int {
	fs := flag.NewFlagSet("poolbench upstream", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	return errExit("upstream", serve(*addr, fakeupstream.New(fakeupstream.WithoutRecording())))
}

// serveProxy is the `proxy` subcommand: the baseline, a bare httputil.ReverseProxy tuned as a
// careful operator would tune it (pooled copy buffers, many idle upstream connections, immediate
// flushes for event streams) that reads the request body fully before relaying. Without that read,
// Go's server may close the inbound connection while the response streams and a few percent of
// fast streams arrive truncated.
func serveProxy(args []string) int {
	fs := flag.NewFlagSet("poolbench proxy", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	upstream := fs.String("upstream", "", "upstream base URL")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		return errExit("proxy", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:  tunedTransport(1024),
		BufferPool: newBufferPool(32 << 10),
	}
	bodies := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bodies.Get().(*bytes.Buffer) //nolint:forcetypeassert // only *bytes.Buffer is stored
		buf.Reset()
		defer bodies.Put(buf)
		if _, err := buf.ReadFrom(io.LimitReader(r.Body, 32<<20)); err != nil {
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		r.ContentLength = int64(buf.Len())
		rp.ServeHTTP(w, r)
	})
	return errExit("proxy", serve(*addr, h))
}

// serve listens on addr (which must be loopback), announces its URL and serves until the parent
// goes away or signals.
func serve(addr string, h http.Handler) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return &net.AddrError{Err: "poolbench serves on loopback only", Addr: addr}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	done := announce("http://" + ln.Addr().String())
	select {
	case err = <-errc:
		return err
	case <-done:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return nil
}

// tunedTransport keeps up to idle warm connections to one host, never uses an environment
// proxy (all traffic is loopback) and passes bodies through uncompressed.
func tunedTransport(idle int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          idle * 2,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// bufferPool is an httputil.BufferPool backed by sync.Pool.
type bufferPool struct{ p sync.Pool }

func newBufferPool(size int) *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (b *bufferPool) Get() []byte {
	return *b.p.Get().(*[]byte) //nolint:forcetypeassert // only *[]byte is stored
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
