// Package egress sends upstream traffic through the outbound proxy an account (or its channel)
// names: one http.Transport per distinct proxy, cached and bounded, so connections to the upstream
// through each proxy stay warm. Proxy URLs may carry credentials; they are secrets, so what is
// shown or logged is Redact's form (scheme and host only).
package egress

import (
	"container/list"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// DefaultMax bounds the proxies whose transports are kept.
const DefaultMax = 64

// Schemes are the proxy schemes accepted (net/http dials each of them itself).
var schemes = map[string]bool{"http": true, "https": true, "socks5": true, "socks5h": true}

// ErrInvalid is returned for a proxy URL that is not usable.
var ErrInvalid = errors.New("proxy_url must be an http://, https:// or socks5:// URL with a host (user:password@ allowed) and no path")

// Parse checks a proxy URL: scheme http, https, socks5 or socks5h, a host, optional
// credentials, nothing else. The empty string is valid and means "no proxy" (nil).
func Parse(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || !schemes[strings.ToLower(u.Scheme)] || u.Host == "" || u.Hostname() == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, ErrInvalid
	}
	return u, nil
}

// Redact is a proxy URL without its credentials ("scheme://host:port"); "" for none or an
// unreadable one.
func Redact(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Normalize checks a proxy URL (Parse) and returns the form stored: lower-case scheme, the
// credentials if any, the host; "" stays "". Redact of the stored form is what is shown, and an
// update giving that shown form back keeps the stored one (the queries compare them).
func Normalize(raw string) (string, error) {
	u, err := Parse(raw)
	if err != nil || u == nil {
		return "", err
	}
	out := strings.ToLower(u.Scheme) + "://"
	if u.User != nil {
		out += u.User.String() + "@"
	}
	return out + u.Host, nil
}

// IsProxyError reports whether err is a failure to reach or use the proxy itself (connecting to
// it, or its refusing the connection or the CONNECT), as opposed to the upstream behind it.
func IsProxyError(err error) bool {
	if errors.Is(err, errProxyDial) {
		return true
	}
	var op *net.OpError
	for e := err; errors.As(e, &op); e = op.Err {
		if op.Op == "proxyconnect" || strings.HasPrefix(op.Op, "socks") {
			return true
		}
	}
	return false
}

var errProxyDial = errors.New("proxy unreachable")

// proxyDialError marks an error of dialing the proxy (a proxied transport dials only its proxy).
type proxyDialError struct{ err error }

func (e *proxyDialError) Error() string { return "proxy unreachable: " + e.err.Error() }
func (e *proxyDialError) Unwrap() error { return e.err }
func (e *proxyDialError) Timeout() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}
func (e *proxyDialError) Temporary() bool      { return false }
func (e *proxyDialError) Is(target error) bool { return target == errProxyDial }

// Transports caches one transport per proxy URL, at most max of them (the least recently used
// goes first: its idle connections are closed, and a snapshot still holding it keeps working).
type Transports struct {
	make func() *http.Transport
	max  int

	mu    sync.Mutex
	byURL map[string]*list.Element // of *entry
	lru   list.List
}

type entry struct {
	url string
	rt  http.RoundTripper
}

// New makes a cache whose transports are made by mk (nil: a clone of http.DefaultTransport),
// bounded to max proxies (<= 0: DefaultMax).
func New(mk func() *http.Transport, maxProxies int) *Transports {
	if mk == nil {
		mk = func() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }
	}
	if maxProxies <= 0 {
		maxProxies = DefaultMax
	}
	return &Transports{make: mk, max: maxProxies, byURL: map[string]*list.Element{}}
}

// For returns the transport for proxy: direct when proxy is "", else the cached transport
// dialing through it. An unusable proxy URL gives a transport failing every request with
// ErrInvalid (never the direct one: traffic meant for a proxy must not leave without it).
func (t *Transports) For(proxy string, direct http.RoundTripper) http.RoundTripper {
	if proxy == "" {
		return direct
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.byURL[proxy]; ok {
		t.lru.MoveToFront(el)
		return el.Value.(*entry).rt
	}
	var rt http.RoundTripper
	u, err := Parse(proxy)
	if err != nil || u == nil {
		rt = failing{}
	} else {
		tr := t.make()
		tr.Proxy = http.ProxyURL(u)
		if dial := tr.DialContext; dial != nil {
			tr.DialContext = markDial(dial)
		} else {
			tr.DialContext = markDial((&net.Dialer{}).DialContext)
		}
		rt = tr
	}
	t.byURL[proxy] = t.lru.PushFront(&entry{url: proxy, rt: rt})
	for t.lru.Len() > t.max {
		old := t.lru.Back()
		e := old.Value.(*entry)
		t.lru.Remove(old)
		delete(t.byURL, e.url)
		if tr, ok := e.rt.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	}
	return rt
}

// Len is the number of proxies with a cached transport.
func (t *Transports) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

// CloseIdleConnections closes the idle connections of every cached transport.
func (t *Transports) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for el := t.lru.Front(); el != nil; el = el.Next() {
		if tr, ok := el.Value.(*entry).rt.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	}
}

// Client is an http.Client over For(proxy, direct) that never follows redirects.
func (t *Transports) Client(proxy string, direct http.RoundTripper, base *http.Client) *http.Client {
	c := &http.Client{Transport: t.For(proxy, direct)}
	if base != nil {
		c.Timeout = base.Timeout
		c.CheckRedirect = base.CheckRedirect
	}
	return c
}

func markDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, &proxyDialError{err: err}
		}
		return c, nil
	}
}

type failing struct{}

func (failing) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, ErrInvalid
}
