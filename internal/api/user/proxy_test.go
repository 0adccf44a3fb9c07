package user_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
)

// loopbackProxies lets the app use the tests' proxies on 127.0.0.1: a proxy is an outbound
// address, refused on a loopback, private or link-local address unless ALLOW_PRIVATE_OUTBOUND
// allows it.
var loopbackProxies = []apptest.Option{apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.0/8" })}

// testProxy is a small outbound proxy started by a test: it records the target of each tunnel or
// forwarded request and the credentials it was given.
type testProxy struct {
	ln      net.Listener
	carried bytes.Buffer // what clients sent through the proxy (under mu)
	mu      sync.Mutex
	seen    []string // targets, host:port
	auth    []string // "user:password" given
}

func (p *testProxy) record(target, auth string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, target)
	p.auth = append(p.auth, auth)
}

// Seen returns the targets proxied so far and the credentials given with them.
func (p *testProxy) Seen() (targets, auth []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...), append([]string(nil), p.auth...)
}

// recorder keeps what passes before it is sent on, so the upstream never sees bytes the proxy
// has not recorded.
type recorder struct{ p *testProxy }

func (r recorder) Write(b []byte) (int, error) {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.p.carried.Write(b)
}

// tunnelCarried reports whether s passed through the proxy (CONNECT tunnels and SOCKS; forwarded
// requests are recorded by their target).
func tunnelCarried(p *testProxy, s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Contains(p.carried.String(), s)
}

func (p *testProxy) addr() string { return p.ln.Addr().String() }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// pipe joins client a and upstream b, counting what a sends into p.sent.
func (p *testProxy) pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	go func() { _, _ = io.Copy(io.MultiWriter(recorder{p}, b), a); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
	<-done
}

// startSOCKS5 runs a SOCKS5 proxy (RFC 1928, CONNECT only) requiring username/password auth
// (RFC 1929) with user:pass.
func startSOCKS5(t *testing.T, user, pass string) *testProxy {
	t.Helper()
	p := &testProxy{ln: listen(t)}
	go func() {
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			go p.serveSOCKS(c, user, pass)
		}
	}()
	return p
}

func (p *testProxy) serveSOCKS(c net.Conn, user, pass string) {
	defer c.Close()
	r := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil || !strings.Contains(string(methods), "\x02") {
		_, _ = c.Write([]byte{5, 0xff})
		return
	}
	_, _ = c.Write([]byte{5, 2})
	readField := func() string {
		n, err := r.ReadByte()
		if err != nil {
			return ""
		}
		b := make([]byte, n)
		_, _ = io.ReadFull(r, b)
		return string(b)
	}
	if v, err := r.ReadByte(); err != nil || v != 1 {
		return
	}
	u, pw := readField(), readField()
	if u != user || pw != pass {
		_, _ = c.Write([]byte{1, 1})
		return
	}
	_, _ = c.Write([]byte{1, 0})
	req := make([]byte, 4)
	if _, err := io.ReadFull(r, req); err != nil || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1:
		b := make([]byte, 4)
		_, _ = io.ReadFull(r, b)
		host = net.IP(b).String()
	case 3:
		host = readField()
	case 4:
		b := make([]byte, 16)
		_, _ = io.ReadFull(r, b)
		host = net.IP(b).String()
	}
	pb := make([]byte, 2)
	if _, err := io.ReadFull(r, pb); err != nil {
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(pb))))
	up, err := net.Dial("tcp", target)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	p.record(target, u+":"+pw)
	_, _ = c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	p.pipe(&bufferedConn{Conn: c, r: r}, up)
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// startHTTPProxy runs an HTTP proxy: CONNECT tunnels and absolute-URI forwarding, requiring
// Proxy-Authorization basic user:pass.
func startHTTPProxy(t *testing.T, user, pass string) *testProxy {
	t.Helper()
	p := &testProxy{ln: listen(t)}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Proxy-Authorization") != want {
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		if r.Method == http.MethodConnect {
			up, err := net.Dial("tcp", r.Host)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			p.record(r.Host, user+":"+pass)
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				up.Close()
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
			p.pipe(c, up)
			return
		}
		p.record(r.URL.Host, user+":"+pass)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.Header.Del("Proxy-Authorization")
		res, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	}), ReadHeaderTimeout: 5e9}
	go func() { _ = srv.Serve(p.ln) }()
	t.Cleanup(func() { srv.Close() })
	return p
}

func TestContributedAccountThroughProxies(t *testing.T) {
	t.Parallel()
	const key = "sk-proxied-0123456789"
	c := newContribEnvWith(t, loopbackProxies, key)
	ctx := context.Background()
	owner := c.env.NewUser("proxied", 1_000_000)
	ou := c.env.User(owner.Token)
	upstream := strings.TrimPrefix(c.url, "http://")

	for _, tc := range []struct {
		name  string
		proxy *testProxy
		url   string
	}{
		{"socks5", nil, "socks5"},
		{"http", nil, "http"},
	} {
		if tc.url == "socks5" {
			tc.proxy = startSOCKS5(t, "alice", "s3cret")
		} else {
			tc.proxy = startHTTPProxy(t, "alice", "s3cret")
		}
		proxyURL := tc.url + "://alice:s3cret@" + tc.proxy.addr()
		shared := false
		res, err := ou.ContributedAccountCreateWithResponse(ctx, userclient.ContributedAccountCreate{Provider: "openai",
			Credential: key + tc.name, ProxyUrl: &proxyURL, Shared: &shared})
		require.NoError(t, err)
		// The fake upstream accepts only key: the check went through the proxy and was refused.
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode(), string(res.Body))
		targets, auth := tc.proxy.Seen()
		require.NotEmpty(t, targets, tc.name)
		require.Equal(t, upstream, targets[0])
		require.Equal(t, "alice:s3cret", auth[0])
		require.NotContains(t, string(res.Body), "s3cret")
	}

	// An accepted account: check and gateway calls go through its SOCKS5 proxy; the proxy's
	// credentials are never shown.
	socks := startSOCKS5(t, "bob", "hunter22")
	proxyURL := "socks5://bob:hunter22@" + socks.addr()
	shared := false
	res, err := ou.ContributedAccountCreateWithResponse(ctx, userclient.ContributedAccountCreate{Provider: "openai",
		Credential: key, ProxyUrl: &proxyURL, Shared: &shared})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Equal(t, "socks5://"+socks.addr(), *res.JSON201.ProxyUrl)
	require.NotContains(t, string(res.Body), "hunter22")
	checked, _ := socks.Seen()
	require.Len(t, checked, 1)

	// The gateway call is carried by the proxy (on the tunnel the check opened, kept alive, or
	// a new one): the upstream's request count grows only with what passed through it.
	before := len(c.upstream.Requests())
	status, cred := c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, key, cred)
	require.Len(t, c.upstream.Requests(), before+1)
	require.True(t, tunnelCarried(socks, "hello there"), "the gateway call went through the proxy")

	// Writing back the shown (redacted) URL keeps the stored credentials: calls still pass.
	shown := *res.JSON201.ProxyUrl
	up, err := ou.ContributedAccountUpdateWithResponse(ctx, res.JSON201.Id, userclient.ContributedAccountUpdate{ProxyUrl: &shown})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	status, _ = c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
}

func TestDeadProxyFailsOver(t *testing.T) {
	t.Parallel()
	const key = "sk-direct-0123456789"
	c := newContribEnvWith(t, loopbackProxies, key)
	ctx := context.Background()
	rider := c.env.NewUser("rider", 1_000_000)
	admin := c.env.Admin()

	// A dead proxy: a port nothing listens on any more.
	ln := listen(t)
	dead := "http://u:p@" + ln.Addr().String()
	ln.Close()
	deadAcc, err := admin.AccountCreateWithResponse(ctx, c.channel, adminclient.AccountCreate{Credential: key, ProxyUrl: &dead,
		Weight: ptrTo(1000000)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, deadAcc.StatusCode(), string(deadAcc.Body))
	require.Equal(t, "http://"+ln.Addr().String(), *deadAcc.JSON201.ProxyUrl)
	good, err := admin.AccountCreateWithResponse(ctx, c.channel, adminclient.AccountCreate{Credential: key, Weight: ptrTo(1)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, good.StatusCode(), string(good.Body))

	// Every call is answered by the direct account; the proxied one is taken out of rotation
	// with its reason shown.
	for range 4 {
		status, cred := c.chat(t, rider.Key)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, key, cred)
	}
	got, err := admin.AccountListWithResponse(ctx, c.channel)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
	var seen bool
	for _, a := range got.JSON200.Items {
		if a.Id == deadAcc.JSON201.Id {
			seen = true
			require.Equal(t, adminclient.AccountStatusDisabled, a.Status)
			require.Equal(t, "proxy_unreachable", a.StatusReason)
		}
	}
	require.True(t, seen)
	require.NotContains(t, string(got.Body), "u:p@")

	// A channel's proxy is the default of its accounts: the direct account now goes through it.
	socks := startSOCKS5(t, "carol", "pw123456")
	chProxy := "socks5://carol:pw123456@" + socks.addr()
	ch, err := admin.ChannelUpdateWithResponse(ctx, c.channel, adminclient.ChannelUpdate{ProxyUrl: &chProxy})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ch.StatusCode(), string(ch.Body))
	require.Equal(t, "socks5://"+socks.addr(), *ch.JSON200.ProxyUrl)
	status, _ := c.chat(t, rider.Key)
	require.Equal(t, http.StatusOK, status)
	targets, auth := socks.Seen()
	require.NotEmpty(t, targets)
	require.Equal(t, "carol:pw123456", auth[0])
	require.True(t, tunnelCarried(socks, "hello there"))
}
