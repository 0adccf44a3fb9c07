package netguard

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"testing"
)

// FuzzCheck: with no allow list, a URL whose host is a non-public address literal, or a name that
// resolves (even partly) to one — the DNS rebinding case — is never allowed, however the URL is
// written (userinfo, ports, brackets, percent-encoding, IPv4-mapped IPv6, ...): only a URL whose
// host, as the HTTP client will dial it, is a public address literal passes.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1/", "https://[::1]:8443/x", "http://10.0.0.1@8.8.8.8/", "http://8.8.8.8#@127.0.0.1/",
		"http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/", "http://localhost/",
		"http://rebind.example/", "HTTP://127.1/", "http://2130706433/", "http://[fe80::1%25eth0]/", "gopher://127.0.0.1/",
		"http://%31%32%37.0.0.1/", "http://example.com:99999/",
	} {
		f.Add(s)
	}
	g, err := New("")
	if err != nil {
		f.Fatal(err)
	}
	// Every name resolves to a public address and a loopback one.
	g.lookup = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")}, nil
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := g.Check(context.Background(), raw)
		if err == nil {
			u, perr := url.Parse(raw)
			if perr != nil {
				t.Fatalf("Check(%q) allowed a URL that does not parse", raw)
			}
			a, perr := netip.ParseAddr(u.Hostname())
			if perr != nil || !Public(a) {
				t.Fatalf("Check(%q) allowed host %q, which is not a public address", raw, u.Hostname())
			}
			return
		}
		if !errors.Is(err, ErrURL) && !errors.Is(err, ErrBlocked) && !errors.Is(err, ErrResolve) {
			t.Fatalf("Check(%q): unexpected error %v", raw, err)
		}
	})
}
