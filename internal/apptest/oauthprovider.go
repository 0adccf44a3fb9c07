package apptest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// OAuthProvider is an OAuth provider for OAuth-based upstream accounts, started by a test: its
// authorization page consents at once (redirecting to the redirect URI with a code), its token
// endpoint redeems each code once against its PKCE challenge and refreshes tokens, and its
// /code/callback page shows `code#state` the way Anthropic's does for pasting. Refuse makes
// refreshes answer invalid_grant.
type OAuthProvider struct {
	// URL is the provider's base URL.
	URL string

	mu       sync.Mutex
	codes    map[string]oauthGrant // code → what it was issued for
	refresh  map[string]bool       // refresh tokens it accepts
	next     int                   // tokens issued
	codeN    int                   // codes issued
	refusing bool
	// refreshes counts refresh_token grants.
	refreshes atomic.Int64
}

type oauthGrant struct{ challenge, redirect string }

// NewOAuthProvider starts an OAuth provider closed with the test.
func NewOAuthProvider(t testing.TB) *OAuthProvider {
	t.Helper()
	f := &OAuthProvider{codes: map[string]oauthGrant{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /code/callback", f.showCode)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// CodePage is the provider's own page that shows the code to paste (a paste-code redirect URI).
func (f *OAuthProvider) CodePage() string { return f.URL + "/code/callback" }

// Providers is OAUTH_ACCOUNT_PROVIDERS for this provider as `openai`; pasteAt, when set, is the
// redirect URI of a provider that shows the code instead (see CodePage).
func (f *OAuthProvider) Providers(pasteAt string) string {
	return f.ProvidersFor(map[string]string{"openai": pasteAt})
}

// ProvidersFor is OAUTH_ACCOUNT_PROVIDERS for this provider under several provider names, each
// with its paste-code redirect URI ("" for a redirect back to Poolgate).
func (f *OAuthProvider) ProvidersFor(pasteAt map[string]string) string {
	all := map[string]any{}
	for name, at := range pasteAt {
		p := map[string]any{"client_id": "poolgate-test", "authorize_url": f.URL + "/authorize",
			"token_url": f.URL + "/token", "scopes": "openid offline_access"}
		if at != "" {
			p["redirect_uri"], p["paste_code"] = at, true
		}
		all[name] = p
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// Issue makes a code for a challenge (what the authorization page does after consent).
func (f *OAuthProvider) Issue(challenge, redirect string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codeN++
	code := fmt.Sprintf("code-%d", f.codeN)
	f.codes[code] = oauthGrant{challenge, redirect}
	return code
}

// Refuse makes every later refresh answer invalid_grant (the provider revoked the tokens).
func (f *OAuthProvider) Refuse() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refusing = true
}

// Refreshes is how many refresh_token grants the provider was asked for.
func (f *OAuthProvider) Refreshes() int64 { return f.refreshes.Load() }

func (f *OAuthProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != "poolgate-test" || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := f.Issue(q.Get("code_challenge"), q.Get("redirect_uri"))
	//nolint:gosec // a test provider: it redirects to whatever redirect URI the client registered in the test
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

// showCode is the provider's page showing `code#state` to paste.
func (f *OAuthProvider) showCode(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Authorization code</title><main><p>Paste this code into the application:</p><code id="code">%s</code></main></html>`,
		html.EscapeString(q.Get("code")+"#"+q.Get("state")))
}

func (f *OAuthProvider) token(w http.ResponseWriter, r *http.Request) {
	if r.ParseForm() != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	refuse := func() {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	}
	form := r.PostForm
	if form.Get("client_id") != "poolgate-test" {
		refuse()
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		g, ok := f.codes[form.Get("code")]
		delete(f.codes, form.Get("code"))
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || form.Get("redirect_uri") != g.redirect {
			refuse()
			return
		}
	case "refresh_token":
		f.refreshes.Add(1)
		if f.refusing || !f.refresh[form.Get("refresh_token")] {
			refuse()
			return
		}
		delete(f.refresh, form.Get("refresh_token"))
	default:
		refuse()
		return
	}
	f.next++
	rt := fmt.Sprintf("rt-%d", f.next)
	f.refresh[rt] = true
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("at-%d", f.next), "refresh_token": rt,
		"expires_in": 3600, "token_type": "Bearer"})
}
