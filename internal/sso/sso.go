// Package sso signs users in through OpenID Connect or plain OAuth2 providers: the
// authorization code flow with state (single use, bound to the browser by a cookie), PKCE (S256)
// and, for OpenID Connect, a nonce and a verified ID token; first sign-ins register users when
// the provider allows it; identities are linked to existing users by a one-time binding link.
package sso

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
)

// stateTTL bounds a sign-in from /auth/login to /auth/callback, and a binding link's life.
const stateTTL = 10 * time.Minute

// discoveryTTL is how long a provider's discovery document and keys are reused.
const discoveryTTL = 10 * time.Minute

// BrowserCookie names the cookie binding a sign-in's callback to the browser that began it.
const BrowserCookie = "poolgate_sso"

// Service runs single sign-on.
type Service struct {
	Pool      *pgxpool.Pool
	Queries   *db.Queries
	Box       *secretbox.Box
	Auth      *auth.Service
	Settings  *settings.Store
	Ephemeral auth.Ephemeral
	// Guard keeps calls to providers off private addresses (nil: no check).
	Guard *netguard.Guard
	// PublicURL is where the callback is (PUBLIC_URL).
	PublicURL string
	Log       *slog.Logger

	httpOnce sync.Once
	http     *http.Client
	mu       sync.Mutex
	found    map[int64]*discovered
}

// discovered is an OpenID provider's discovery document and ID token verifier.
type discovered struct {
	key      string // issuer and client id it was made for
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	at       time.Time
}

var (
	errNoProvider   = fault.New(fault.NotFound, "no such sign-in provider")
	errState        = fault.Code(fault.Invalid, "sso_state_invalid", "the sign-in request is unknown or has expired; start again")
	errFailed       = fault.Code(fault.Upstream, "sso_failed", "the sign-in provider could not confirm the sign-in")
	errBindUnknown  = fault.New(fault.NotFound, "the binding link is unknown, used or expired")
	errIdentityUsed = fault.Code(fault.Conflict, "identity_taken", "this identity is already linked to another user")
)

func (s *Service) client() *http.Client {
	s.httpOnce.Do(func() {
		tr := http.DefaultTransport
		if s.Guard != nil {
			tr = s.Guard.Transport()
		}
		s.http = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	})
	return s.http
}

// clientContext carries the guarded HTTP client to oauth2 and go-oidc.
func (s *Service) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, s.client())
}

func (s *Service) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.found = nil
}

// flow is what a sign-in keeps between /auth/login and /auth/callback (Ephemeral, by state).
type flow struct {
	Provider int64  `json:"provider"`
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
	ReturnTo string `json:"return_to"`
	BindUser int64  `json:"bind_user,omitempty"`
	Browser  []byte `json:"browser"`
	// Aff is the referral code a registration by this sign-in carries.
	Aff string `json:"aff,omitempty"`
	// StateOnly marks a sign-in begun by BeginStateOnly: its redirect URI is Redirect, and the
	// state alone ties the callback to it (no browser cookie).
	StateOnly bool   `json:"state_only,omitempty"`
	Redirect  string `json:"redirect,omitempty"`
}

// Begin starts a sign-in (or, with a binding token, a link) at the provider named by slug; aff is
// the referral code a user it registers takes. It returns the authorization URL to redirect to
// and the value of the browser cookie.
func (s *Service) Begin(ctx context.Context, slug, returnTo, bind, aff string) (authURL, browser string, err error) {
	p, err := s.enabled(ctx, slug)
	if err != nil {
		return "", "", err
	}
	f := flow{Provider: p.ID, Verifier: oauth2.GenerateVerifier(), Nonce: auth.RandomToken(32), ReturnTo: SafeReturn(returnTo), Aff: aff}
	if bind != "" {
		v, ok, err := s.Ephemeral.Take(ctx, "bind:"+bind)
		if err != nil {
			return "", "", fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
		}
		if !ok {
			return "", "", errBindUnknown
		}
		uid, perr := strconv.ParseInt(string(v), 10, 64)
		if perr != nil {
			return "", "", errBindUnknown
		}
		f.BindUser = uid
	}
	browser = auth.RandomToken(32)
	sum := sha256.Sum256([]byte(browser))
	f.Browser = sum[:]
	authURL, _, err = s.authorize(ctx, p, &f)
	return authURL, browser, err
}

// BeginStateOnly starts a sign-in at the provider named by slug whose callback comes to
// redirectURI and is tied to it by its state alone (seed 001's /api/auth/sso/initiate: a client
// that fetches the URL and opens it elsewhere has no cookie to bind). Only FinishStateOnly
// completes it. It returns the authorization URL and the state.
func (s *Service) BeginStateOnly(ctx context.Context, slug, redirectURI string) (authURL, state string, err error) {
	p, err := s.enabled(ctx, slug)
	if err != nil {
		return "", "", err
	}
	f := flow{Provider: p.ID, Verifier: oauth2.GenerateVerifier(), Nonce: auth.RandomToken(32), ReturnTo: "/app",
		StateOnly: true, Redirect: redirectURI}
	return s.authorize(ctx, p, &f)
}

// authorize keeps the flow under a new state and returns the provider's authorization URL.
func (s *Service) authorize(ctx context.Context, p *db.OIDCProvider, f *flow) (authURL, state string, err error) {
	cfg, _, err := s.config(ctx, p)
	if err != nil {
		return "", "", err
	}
	if f.Redirect != "" {
		cfg.RedirectURL = f.Redirect
	}
	state = auth.RandomToken(32)
	b, _ := json.Marshal(f)
	if err := s.Ephemeral.Put(ctx, "sso:"+state, b, stateTTL); err != nil {
		return "", "", fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier)}
	if p.Kind == KindOIDC {
		opts = append(opts, oidc.Nonce(f.Nonce))
	}
	return cfg.AuthCodeURL(state, opts...), state, nil
}

// SafeReturn keeps a return_to that is a path on this site and replaces anything else (other
// hosts, scheme-relative `//host`, backslashes, control characters) with /app.
func SafeReturn(to string) string {
	if to == "" || !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.ContainsAny(to, "\\\r\n\t") {
		return "/app"
	}
	u, err := url.Parse(to)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/app"
	}
	return to
}

// BindURL makes a one-time link (10 minutes) that, opened in the user's browser, links their
// identity at the provider to the user.
func (s *Service) BindURL(ctx context.Context, uid int64, slug string) (string, error) {
	if _, err := s.enabled(ctx, slug); err != nil {
		return "", err
	}
	tok := auth.RandomToken(32)
	if err := s.Ephemeral.Put(ctx, "bind:"+tok, []byte(strconv.FormatInt(uid, 10)), stateTTL); err != nil {
		return "", fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	return s.PublicURL + "/auth/login?provider=" + url.QueryEscape(slug) + "&bind=" + tok, nil
}

// Callback is what the provider's redirect brings back.
type Callback struct {
	Code, State      string
	Error, ErrorText string
	Browser          string // the BrowserCookie's value
}

// Result is a finished sign-in: the user, whether an identity was linked rather than a user
// signed in, and where to land.
type Result struct {
	User     *db.User
	Linked   bool
	ReturnTo string
}

// Finish completes a sign-in: the state must be known, unused and this browser's; the code is
// redeemed with the PKCE verifier; an OpenID provider's ID token must verify (signature, issuer,
// audience, expiry) and carry the nonce. The identity then signs its user in, registers one, or
// is linked to the binding user.
func (s *Service) Finish(ctx context.Context, cb Callback) (*Result, error) {
	return s.finish(ctx, cb, false)
}

// FinishStateOnly completes a sign-in begun by BeginStateOnly, as Finish does but without the
// browser cookie: the state (single use, unguessable) is what ties the callback to the sign-in.
func (s *Service) FinishStateOnly(ctx context.Context, cb Callback) (*Result, error) {
	return s.finish(ctx, cb, true)
}

func (s *Service) finish(ctx context.Context, cb Callback, stateOnly bool) (*Result, error) {
	if cb.State == "" {
		return nil, errState
	}
	v, ok, err := s.Ephemeral.Take(ctx, "sso:"+cb.State)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	var f flow
	if !ok || json.Unmarshal(v, &f) != nil || f.StateOnly != stateOnly {
		return nil, errState
	}
	if !stateOnly {
		sum := sha256.Sum256([]byte(cb.Browser))
		if subtle.ConstantTimeCompare(sum[:], f.Browser) != 1 {
			return nil, errState
		}
	}
	if cb.Error != "" {
		return nil, fault.Code(fault.Invalid, "sso_denied", "the sign-in provider refused: "+truncate(cb.Error, 64))
	}
	if cb.Code == "" {
		return nil, errState
	}
	row, err := s.Queries.OIDCProviderGet(ctx, s.Pool, f.Provider)
	if err != nil || !row.Enabled {
		return nil, errNoProvider
	}
	claims, err := s.exchange(ctx, row, f, cb.Code)
	if err != nil {
		return nil, err
	}
	id, err := identityOf(row, claims)
	if err != nil {
		return nil, err
	}
	var u *db.User
	if f.BindUser != 0 {
		u, err = s.link(ctx, row, id, f.BindUser)
	} else {
		u, err = s.signIn(ctx, row, id, f.Aff)
	}
	if err != nil {
		return nil, err
	}
	return &Result{User: u, Linked: f.BindUser != 0, ReturnTo: f.ReturnTo}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
