// Package netguard keeps outbound calls to operator-supplied URLs (remote account sources, hook
// URLs) away from the gateway's own network: loopback, private, link-local and other
// non-public addresses are refused unless the operator allows them (ALLOW_PRIVATE_OUTBOUND).
//
// Two checks are made. Check validates a URL when it is saved or before it is called (scheme,
// host, and every address the host resolves to). DialContext, used as an http.Transport's dialer,
// checks the address actually connected to, after resolution, so a host name that resolves to a
// public address when checked and to a private one when dialled (DNS rebinding), or a redirect to
// a private address, is refused as well.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped) for a URL or address that is not allowed.
var ErrBlocked = errors.New("address not allowed")

// ErrResolve is returned (wrapped) when a URL's host does not resolve; the address cannot be
// judged until it does (DialContext checks it again at connect time).
var ErrResolve = errors.New("host does not resolve")

// ErrURL is returned (wrapped) for a URL that is not an absolute http or https URL with a host.
var ErrURL = errors.New("invalid URL")

// nonPublic lists ranges that are never reachable as public internet addresses, besides those
// netip.Addr's own predicates report (loopback, private, link-local, multicast, unspecified).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
}

// Guard decides which outbound addresses may be called. The zero value is not usable; make one
// with New. A Guard is safe for concurrent use.
type Guard struct {
	nets  []netip.Prefix
	hosts map[string]bool
	// lookup resolves a host name; tests replace it.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer net.Dialer
}

// New makes a Guard from an allow list: comma-separated CIDRs (`127.0.0.0/8`, `fd00::/8`), single
// addresses (`10.0.0.7`) or host names (`hooks.internal`) that may be called although they are
// not public. Host names match the URL's host exactly (case-insensitive) and are then trusted
// whatever they resolve to. An empty list allows public addresses only.
func New(allow string) (*Guard, error) {
	g := &Guard{hosts: map[string]bool{}}
	for item := range strings.SplitSeq(allow, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			g.nets = append(g.nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			g.nets = append(g.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		if !validHost(item) {
			return nil, fmt.Errorf("ALLOW_PRIVATE_OUTBOUND: %q is not a CIDR, an IP address or a host name", item)
		}
		g.hosts[strings.ToLower(strings.TrimSuffix(item, "."))] = true
	}
	g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	g.dialer = net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return g, nil
}

// validHost reports whether s looks like a DNS host name.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

// Public reports whether an address is a public unicast address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Allowed reports whether an address may be called: it is public, or inside an allowed range.
func (g *Guard) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	if Public(a) {
		return true
	}
	for _, p := range g.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether a host name is trusted by name.
func (g *Guard) hostAllowed(host string) bool {
	return g.hosts[strings.ToLower(strings.TrimSuffix(host, "."))]
}

// Check validates rawURL: an absolute http or https URL whose host is allowed by name, or whose
// every resolved address is allowed. It returns an error wrapping ErrURL, ErrResolve or
// ErrBlocked. The messages name the host and address but never the URL's path, query or userinfo.
func (g *Guard) Check(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%w: an absolute http or https URL is required", ErrURL)
	}
	return g.CheckHost(ctx, u.Hostname())
}

// CheckProxy validates an outbound proxy URL (http, https, socks5 or socks5h; the scheme and
// the rest are egress's to judge) by its host, as Check does: a proxy is dialled like any other
// outbound address. The empty string (no proxy) passes.
func (g *Guard) CheckProxy(ctx context.Context, rawURL string) error {
	if rawURL == "" {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%w: a proxy URL with a host is required", ErrURL)
	}
	return g.CheckHost(ctx, u.Hostname())
}

// CheckHost validates a bare host (a name or an address literal): allowed by name, or every
// address it resolves to allowed. It returns an error wrapping ErrURL, ErrResolve or ErrBlocked.
func (g *Guard) CheckHost(ctx context.Context, host string) error {
	if host == "" {
		return fmt.Errorf("%w: a host is required", ErrURL)
	}
	if g.hostAllowed(host) {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return g.checkAddr(host, a)
	}
	addrs, err := g.lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("%w: %s", ErrResolve, host)
	}
	for _, a := range addrs {
		if err := g.checkAddr(host, a); err != nil {
			return err
		}
	}
	return nil
}

func (g *Guard) checkAddr(host string, a netip.Addr) error {
	if g.Allowed(a) {
		return nil
	}
	if host == a.String() {
		return fmt.Errorf("%w: %s is not a public address", ErrBlocked, a)
	}
	return fmt.Errorf("%w: %s resolves to %s, which is not a public address", ErrBlocked, host, a)
}

// DialContext dials like net.Dialer.DialContext, refusing to connect to an address that is not
// allowed; the check runs on the address actually connected to, after resolution. A host allowed
// by name is dialled without the check. Use it as an http.Transport's DialContext (Transport
// does so); a transport with a proxy dials the proxy, so the proxy's address is what is checked.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("netguard: %w", err)
	}
	if g.hostAllowed(host) {
		d := g.dialer
		d.Control = nil
		return d.DialContext(ctx, network, addr)
	}
	return g.dialer.DialContext(ctx, network, addr)
}

// control runs after resolution and before connect, on the numeric address.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s is not a public address", ErrBlocked, ap.Addr())
	}
	return nil
}

// Transport is an http.Transport that dials through the guard, with no proxy and bounded
// handshake and header timeouts.
func (g *Guard) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
