package reliability_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/config"
)

// refusedHosts are outbound addresses that are not public, written the ways a URL can hide them.
var refusedHosts = []string{
	"127.0.0.1:1", "localhost:1", "[::1]:1", "169.254.169.254", "10.0.0.1", "192.168.1.1:8080",
	"[::ffff:127.0.0.1]:1", "0.0.0.0:1", "[fe80::1]:1", "100.64.0.1",
}

// outboundKind is one URL an administrator or a user can set that Poolgate then calls.
type outboundKind struct {
	name, method, path string
	// body is the request body; %s is replaced with the URL (JSON-quoted).
	body string
	// proxy: the URL is a proxy (scheme and host only).
	proxy bool
	// user: set by a user (the contributing user's session) rather than the administrator.
	user bool
}

// TestOutboundURLsRefused sets every kind of outbound URL to each non-public address, with
// ALLOW_PRIVATE_OUTBOUND unset: each is refused when saved with a 4xx in the contract's shape.
// The kinds Poolgate calls but an API does not save (an upstream OAuth account's token URL,
// re-checked before every refresh) and the checks made again when connecting (DNS rebinding,
// redirects) are in TestOutboundProxyDialGuard and the netguard, hook, remote, sso and oauth tests.
func TestOutboundURLsRefused(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ch := env.Channel("outbound", []string{faultModel}, "sk-upstream-out-aaaa")
	settings(t, env, fmt.Sprintf(`{"contributed_account_channels":{"openai":%d}}`, ch))
	u := env.NewUser("outbound-user", 1000)

	kinds := []outboundKind{
		{name: "login-check hook (OAUTH_URL)", method: http.MethodPut, path: "/api/settings", body: `{"oauth_url":%s}`},
		{name: "audit hook (AUDIT_LIMIT_URL)", method: http.MethodPut, path: "/api/settings", body: `{"audit_limit_url":%s}`},
		{name: "notify hook (NOTIFY_URL)", method: http.MethodPut, path: "/api/settings", body: `{"notify_url":%s}`},
		{name: "remote account source", method: http.MethodPost, path: "/api/remote-account/sources", body: `{"name":"src","url":%s}`},
		{name: "OIDC issuer", method: http.MethodPost, path: "/api/oidc-providers",
			body: `{"slug":"idp","name":"IdP","client_id":"cid","kind":"oidc","issuer":%s}`},
		{name: "OAuth2 sign-in token URL", method: http.MethodPost, path: "/api/oidc-providers",
			body: `{"slug":"oa","name":"OA","client_id":"cid","kind":"oauth2","authorization_url":"https://auth.invalid/a","token_url":%s,"userinfo_url":"https://auth.invalid/u"}`},
		{name: "OAuth2 sign-in userinfo URL", method: http.MethodPost, path: "/api/oidc-providers",
			body: `{"slug":"ob","name":"OB","client_id":"cid","kind":"oauth2","authorization_url":"https://auth.invalid/a","token_url":"https://auth.invalid/t","userinfo_url":%s}`},
		{name: "payment gateway (EPay)", method: http.MethodPut, path: "/api/settings", body: `{"yipay_url":%s}`},
		{name: "payment gateway (OpenPayment)", method: http.MethodPut, path: "/api/settings", body: `{"openpayment_url":%s}`},
		{name: "price list", method: http.MethodPost, path: "/api/models/prices/sync/preview", body: `{"url":%s}`},
		{name: "channel proxy", method: http.MethodPost, path: "/api/channels", proxy: true,
			body: `{"name":"proxied","type":"openai","base_url":"https://api.openai.com/v1","models":["gpt-4o"],"proxy_url":%s}`},
		{name: "account proxy", method: http.MethodPost, path: "/api/channels/" + itoa(ch) + "/accounts", proxy: true,
			body: `{"credential":"sk-upstream-proxied-0001","proxy_url":%s}`},
		{name: "contributed account proxy (a user's)", method: http.MethodPost, path: "/api/user/accounts", proxy: true, user: true,
			body: `{"provider":"openai","credential":"sk-upstream-contrib-0001","proxy_url":%s}`},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			for _, host := range refusedHosts {
				urls := []string{"http://" + host + "/x", "https://user:pw@" + host + "/"}
				if k.proxy {
					urls = []string{"http://" + host, "socks5://user:pw@" + host}
				}
				for _, raw := range urls {
					token := env.AdminToken
					if k.user {
						token = u.Token
					}
					status, body := sendJSON(t, env, k.method, k.path, token, fmt.Sprintf(k.body, quote(raw)))
					require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, status, "%s = %s: %s", k.name, raw, body)
					require.NotEmpty(t, gjson.GetBytes(body, "detail.code").String(), "%s", body)
					msg := gjson.GetBytes(body, "detail.error").String()
					require.True(t, strings.Contains(msg, "not allowed") || strings.Contains(msg, "ALLOW_PRIVATE_OUTBOUND"),
						"%s = %s: refused by the outbound guard, not for another reason: %s", k.name, raw, body)
					require.NotContains(t, string(body), "user:pw", "a refusal never repeats credentials")
				}
			}
		})
	}
}

// TestOutboundProxyDialGuard: a proxy saved while its name resolved to a public address and that
// now resolves to a private one (DNS rebinding; simulated by writing the address into the
// database past the save-time check) is refused when dialled: the gateway call fails over or
// fails, and nothing ever connects to the proxy. With ALLOW_PRIVATE_OUTBOUND naming the range,
// the same proxy is used.
func TestOutboundProxyDialGuard(t *testing.T) {
	t.Parallel()
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			t.Parallel()
			var opts []apptest.Option
			if allowed {
				opts = append(opts, apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.0/8" }))
			}
			f := newFaultEnv(t, opts...)
			proxy := newConnCounter(t)
			_, err := f.env.App.Pool.Exec(context.Background(), "UPDATE accounts SET proxy_url = $1", "http://"+proxy.addr())
			require.NoError(t, err)
			f.env.App.Bus.Publish(context.Background(), bus.TopicRoutes, "")
			status, body := f.call(t, callers[0], false)
			before := proxy.sentinel(t)
			if allowed {
				require.Positive(t, before, "the allowed proxy was dialled (status %d: %s)", status, body)
				return
			}
			require.NotEqual(t, http.StatusOK, status, "%s", body)
			require.Zero(t, before, "nothing connected to the proxy on a private address")
		})
	}
}

// connCounter is a listener that counts connections; sentinel tells how many arrived before it.
type connCounter struct {
	ln       net.Listener
	accepted atomic.Int64
	marks    chan int64
}

func newConnCounter(t *testing.T) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &connCounter{ln: ln, marks: make(chan int64, 1)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n := c.accepted.Add(1)
			go func() {
				defer conn.Close()
				line, _ := bufio.NewReader(conn).ReadString('\n')
				if line == "sentinel\n" {
					c.marks <- n - 1
				}
			}()
		}
	}()
	return c
}

func (c *connCounter) addr() string { return c.ln.Addr().String() }

// sentinel connects once more and returns how many connections were accepted before it: the
// listener accepts in arrival order, so every earlier connection is counted.
func (c *connCounter) sentinel(t *testing.T) int64 {
	t.Helper()
	conn, err := net.Dial("tcp", c.addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("sentinel\n"))
	require.NoError(t, err)
	return <-c.marks
}

// settings changes the settings as the administrator.
func settings(t *testing.T, env *apptest.Env, body string) {
	t.Helper()
	status, answer := sendJSON(t, env, http.MethodPut, "/api/settings", env.AdminToken, body)
	require.Equal(t, http.StatusOK, status, "%s", answer)
}

// sendJSON sends a JSON body with a bearer token and returns the status and body (answers are
// validated against the contracts).
func sendJSON(t *testing.T, env *apptest.Env, method, path, token, body string) (int, []byte) {
	t.Helper()
	r, err := http.NewRequestWithContext(context.Background(), method, env.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := env.RawHTTP.Do(r)
	require.NoError(t, err)
	return res.StatusCode, readAll(t, res)
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
