package testsvc

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// oidcScript runs oidc-provider with one confidential client, PKCE required (the library's
// default for every client), its development login and consent pages, and accounts made up
// from the login name: sub and preferred_username are the login, the e-mail address is
// <login>@example.test (released through UserInfo), plus any extra claims given per login.
const oidcScript = `
import Provider from 'oidc-provider';
const cfg = JSON.parse(process.env.OIDC_CONFIG);
const claimsOf = (id) => ({ sub: id, email: id + '@example.test', email_verified: true,
  preferred_username: id, name: id, ...(cfg.extra[id] || {}) });
const provider = new Provider(cfg.issuer, {
  clients: [{ client_id: cfg.clientId, client_secret: cfg.clientSecret, redirect_uris: cfg.redirectURIs,
    grant_types: ['authorization_code'], response_types: ['code'] }],
  features: { devInteractions: { enabled: true } },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name', 'trust_level'] },
  findAccount: async (ctx, id) => ({ accountId: id, async claims() { return claimsOf(id); } }),
  cookies: { keys: ['poolgate-test-cookie-key-0123456789'] },
});
provider.listen(cfg.port, '127.0.0.1', () => console.log('oidc-provider ready at ' + cfg.issuer));
`

// OIDC is a local OpenID provider (npm oidc-provider).
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	port         int
	extra        map[string]map[string]any
}

// NewOIDC reserves a port for an OpenID provider, so its issuer is known before it starts
// (the app under test can be configured with it first). Extra claims per login (such as
// Linux.do's trust_level) may be added to Extra before Start.
func NewOIDC(t testing.TB) *OIDC {
	t.Helper()
	port := FreePort(t)
	return &OIDC{Issuer: fmt.Sprintf("http://127.0.0.1:%d", port), ClientID: "poolgate-test",
		ClientSecret: "oidc-client-secret-" + strings.Repeat("x", 8), port: port, extra: map[string]map[string]any{}}
}

// Claim adds a claim to the account signed in as login.
func (o *OIDC) Claim(login, name string, value any) {
	if o.extra[login] == nil {
		o.extra[login] = map[string]any{}
	}
	o.extra[login][name] = value
}

// Start runs the provider, accepting the given redirect URIs, until the test ends.
func (o *OIDC) Start(t testing.TB, redirectURIs ...string) {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{"issuer": o.Issuer, "port": o.port, "clientId": o.ClientID,
		"clientSecret": o.ClientSecret, "redirectURIs": redirectURIs, "extra": o.extra})
	require.NoError(t, err)
	p := start(t, NodeDir(t), []string{"OIDC_CONFIG=" + string(cfg)}, nil, "--input-type=module", "-e", oidcScript)
	p.waitReady(t, "oidc-provider", func() bool {
		res, err := http.Get(o.Issuer + "/.well-known/openid-configuration") //nolint:noctx // a local readiness probe
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// Endpoints are the provider's authorization, token and userinfo URLs (for a plain OAuth2
// configuration).
func (o *OIDC) Endpoints(t testing.TB) (authorization, token, userinfo string) {
	t.Helper()
	res, err := http.Get(o.Issuer + "/.well-known/openid-configuration") //nolint:noctx // a local test service
	require.NoError(t, err)
	defer res.Body.Close()
	var d struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		UserInfo      string `json:"userinfo_endpoint"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&d))
	return d.Authorization, d.Token, d.UserInfo
}

var (
	formAction = regexp.MustCompile(`(?is)<form[^>]*action="([^"]+)"[^>]*method="post"`)
	formInput  = regexp.MustCompile(`(?is)<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

// SignIn goes through the provider's pages as a person would: starting at authorizeURL (the
// Location Poolgate redirected to), it signs in as login on the login page, confirms the
// consent page, and returns the URL the provider then redirects to (Poolgate's callback with
// the code and state), without following it. c must keep cookies and not follow redirects.
func (o *OIDC) SignIn(t testing.TB, c *http.Client, authorizeURL, login string) *url.URL {
	t.Helper()
	next, err := url.Parse(authorizeURL)
	require.NoError(t, err)
	issuer, _ := url.Parse(o.Issuer)
	var form url.Values
	for range 12 {
		var res *http.Response
		if form != nil {
			res, err = c.PostForm(next.String(), form) //nolint:noctx // a local test service
			form = nil
		} else {
			res, err = c.Get(next.String()) //nolint:noctx // a local test service
		}
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		switch {
		case res.StatusCode >= 300 && res.StatusCode < 400:
			loc, err := next.Parse(res.Header.Get("Location"))
			require.NoError(t, err)
			if loc.Host != issuer.Host {
				return loc
			}
			next = loc
		case res.StatusCode == http.StatusOK:
			m := formAction.FindSubmatch(body)
			require.NotNil(t, m, "no form on the provider's page:\n%s", body)
			action, err := next.Parse(html.UnescapeString(string(m[1])))
			require.NoError(t, err)
			form = url.Values{}
			for _, in := range formInput.FindAllSubmatch(body, -1) {
				form.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
			}
			if strings.Contains(string(body), `name="login"`) {
				form.Set("login", login)
				form.Set("password", "any-password")
			}
			next = action
		default:
			t.Fatalf("the provider answered %d:\n%s", res.StatusCode, body)
		}
	}
	t.Fatalf("the provider did not redirect back within 12 steps")
	return nil
}
