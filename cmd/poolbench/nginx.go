package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/poolgate/poolgate/internal/freeport"
)

// nginxConf is the baseline's configuration: a plain keep-alive reverse proxy, as an operator
// would put in front of an HTTP API that streams (no buffering, HTTP/1.1 with pooled upstream
// connections, no access log). %[1]s is the prefix directory, %[2]d the listen port and %[3]s the
// upstream host:port.
const nginxConf = `# written by poolbench; the nginx baseline
worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events {
    worker_connections 8192;
}
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream fake {
        server %[3]s;
        keepalive 1024;
    }
    server {
        listen 127.0.0.1:%[2]d;
        location / {
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
`

// nginxBin is Debian's nginx (nginx-light).
const nginxBin = "/usr/sbin/nginx"

// startNginx writes the baseline's configuration into a fresh prefix directory and runs nginx
// there in the foreground as a child (its own pid file, temp directories and error log, on a free
// loopback port) in front of upstreamURL; it returns once the port accepts connections. The
// returned cleanup removes the directory.
func startNginx(ctx context.Context, kids *children, upstreamURL string) (*child, func(), error) {
	u, err := url.Parse(upstreamURL)
	if err != nil || u.Host == "" {
		return nil, func() {}, fmt.Errorf("nginx: bad upstream %q", upstreamURL)
	}
	dir, err := os.MkdirTemp("", "poolbench-nginx-")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	// Workers may run as an unprivileged user: they only need to traverse the prefix.
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // a temporary prefix holding no secret
		return nil, cleanup, err
	}
	port, err := freeport.Take()
	if err != nil {
		return nil, cleanup, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, port, u.Host), 0o644); err != nil { //nolint:gosec // a config file, no secret
		return nil, cleanup, err
	}
	cmd := exec.Command(nginxBin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")) //nolint:gosec // a fixed binary, our own temporary paths
	cmd.Stderr = os.Stderr
	// SIGTERM is nginx's fast shutdown: the master stops its workers before it exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	c, err := kids.start("nginx", cmd)
	if err != nil {
		return nil, cleanup, err
	}
	c.url = "http://127.0.0.1:" + strconv.Itoa(port)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return c, cleanup, nil
		}
		if time.Now().After(deadline) {
			return c, cleanup, fmt.Errorf("nginx did not listen on %s within 15s; error log:\n%s", addr, logTail(filepath.Join(dir, "error.log")))
		}
		select {
		case <-c.exited:
			return c, cleanup, fmt.Errorf("nginx exited (%v); error log:\n%s", c.cmd.ProcessState, logTail(filepath.Join(dir, "error.log")))
		case <-ctx.Done():
			return c, cleanup, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
