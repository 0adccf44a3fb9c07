package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

func TestNew(t *testing.T) {
	t.Parallel()
	g, err := New(" 127.0.0.0/8, 10.1.2.3 ,fd00::/8,hooks.internal., ")
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.2.3/32"),
		netip.MustParsePrefix("fd00::/8")}, g.nets)
	require.Equal(t, map[string]bool{"hooks.internal": true}, g.hosts)

	_, err = New("127.0.0.0/8, not a host!")
	require.EqualError(t, err, `ALLOW_PRIVATE_OUTBOUND: "not a host!" is not a CIDR, an IP address or a host name`)

	g, err = New("")
	require.NoError(t, err)
	require.Empty(t, g.nets)
	require.Empty(t, g.hosts)
}

func TestPublic(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
		"100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1", "2001:db8::1", "198.18.0.1"} {
		require.False(t, Public(netip.MustParseAddr(s)), s)
	}
	for _, s := range []string{"1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"} {
		require.True(t, Public(netip.MustParseAddr(s)), s)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, err := New("")
	require.NoError(t, err)
	g.lookup = fakeLookup(map[string][]string{
		"public.example":  {"93.184.216.34"},
		"mixed.example":   {"93.184.216.34", "10.0.0.8"},
		"private.example": {"192.168.0.10"},
		"meta.example":    {"169.254.169.254"},
	})

	require.NoError(t, g.Check(ctx, "https://public.example/accounts.json?key=secret"))
	require.NoError(t, g.Check(ctx, "http://93.184.216.34:8080/x"))

	blocked := map[string]string{
		"http://127.0.0.1:8080/x":                  "address not allowed: 127.0.0.1 is not a public address",
		"http://[::1]/x":                           "address not allowed: ::1 is not a public address",
		"http://[::ffff:127.0.0.1]/x":              "address not allowed: ::ffff:127.0.0.1 is not a public address",
		"https://mixed.example/a":                  "address not allowed: mixed.example resolves to 10.0.0.8, which is not a public address",
		"https://private.example/a":                "address not allowed: private.example resolves to 192.168.0.10, which is not a public address",
		"http://meta.example/latest/meta-data":     "address not allowed: meta.example resolves to 169.254.169.254, which is not a public address",
		"http://user:pass@10.0.0.1/secret?token=x": "address not allowed: 10.0.0.1 is not a public address",
	}
	for u, msg := range blocked {
		err := g.Check(ctx, u)
		require.ErrorIs(t, err, ErrBlocked, u)
		require.EqualError(t, err, msg)
	}
	for _, u := range []string{"", "ftp://public.example/x", "/relative", "http://", "file:///etc/passwd", "::"} {
		require.ErrorIs(t, g.Check(ctx, u), ErrURL, u)
	}
	require.ErrorIs(t, g.Check(ctx, "https://nowhere.example/x"), ErrResolve)
}

func TestCheckAllowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, err := New("127.0.0.0/8,10.0.0.0/8,trusted.internal")
	require.NoError(t, err)
	g.lookup = fakeLookup(map[string][]string{"private.example": {"10.2.3.4"}, "other.example": {"192.168.1.1"}})

	require.NoError(t, g.Check(ctx, "http://127.0.0.1:9000/x"))
	require.NoError(t, g.Check(ctx, "http://private.example/x"))
	require.NoError(t, g.Check(ctx, "http://TRUSTED.internal/x"), "allowed by name, without resolving")
	require.ErrorIs(t, g.Check(ctx, "http://other.example/x"), ErrBlocked)
	require.ErrorIs(t, g.Check(ctx, "http://[::1]/x"), ErrBlocked)
}

// TestDial shows the connect-time check: it refuses a private address even when the URL check
// was passed (a host that resolved to a public address when checked, then to 127.0.0.1: DNS
// rebinding), and follows the allow list.
func TestDial(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	port := mustURL(t, srv.URL).Port()
	ctx := context.Background()

	strict, err := New("")
	require.NoError(t, err)
	strict.lookup = fakeLookup(map[string][]string{"localhost": {"93.184.216.34"}}) // the check sees a public address
	rebound := "http://localhost:" + port + "/"
	require.NoError(t, strict.Check(ctx, rebound))
	client := &http.Client{Transport: strict.Transport()}
	t.Cleanup(client.CloseIdleConnections)
	_, err = client.Get(rebound) //nolint:noctx // test
	require.ErrorIs(t, err, ErrBlocked, "the dial resolves localhost to 127.0.0.1 and refuses it")
	_, err = client.Get(srv.URL) //nolint:noctx // test
	require.ErrorIs(t, err, ErrBlocked)

	// A host allowed by name may redirect, but not to a private address it does not name.
	byName, err := New("localhost")
	require.NoError(t, err)
	redirector := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	t.Cleanup(redirector.Close)
	rc := &http.Client{Transport: byName.Transport()}
	t.Cleanup(rc.CloseIdleConnections)
	_, err = rc.Get("http://localhost:" + mustURL(t, redirector.URL).Port() + "/") //nolint:noctx // test
	require.ErrorIs(t, err, ErrBlocked, "the redirect goes to 127.0.0.1, not to localhost")

	for _, allow := range []string{"127.0.0.0/8", "localhost"} {
		g, err := New(allow)
		require.NoError(t, err)
		c := &http.Client{Transport: g.Transport()}
		res, err := c.Get(rebound) //nolint:noctx // test
		require.NoError(t, err, allow)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		c.CloseIdleConnections()
	}
}

func fakeLookup(m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ss, ok := m[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		out := make([]netip.Addr, 0, len(ss))
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
