package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// OAuthStateTTL is how long an authorization started by OAuthAuthorize may be completed.
const OAuthStateTTL = 10 * time.Minute

// OAuthProvider is where a provider's OAuth accounts authorize and get tokens.
type OAuthProvider struct {
	AuthorizeURL, TokenURL, ClientID, Scopes string
	// RedirectURI is where the provider sends the code: Poolgate's callback, or the provider's
	// own page showing the code to paste (out-of-band).
	RedirectURI string
}

// DefaultOAuthProviders are the providers' public endpoints for OAuth-based accounts (Google for
// Gemini, Anthropic's console, OpenAI's Codex-style accounts). Their client ids are the
// operator's to register; Service.OAuthProviders overrides any of them (tests, compatible
// providers).
func DefaultOAuthProviders() map[string]OAuthProvider {
	return map[string]OAuthProvider{
		"gemini": {AuthorizeURL: "https://accounts.google.com/o/oauth2/v2/auth", //nolint:gosec // public endpoints, no secret
			TokenURL: "https://oauth2.googleapis.com/token", Scopes: "https://www.googleapis.com/auth/cloud-platform openid email"},
		"anthropic": {AuthorizeURL: "https://claude.ai/oauth/authorize", //nolint:gosec // public endpoints, no secret
			TokenURL: "https://console.anthropic.com/v1/oauth/token", Scopes: "org:create_api_key user:profile user:inference",
			RedirectURI: "https://console.anthropic.com/oauth/code/callback"},
		"openai": {AuthorizeURL: "https://auth.openai.com/oauth/authorize", //nolint:gosec // public endpoints, no secret
			TokenURL: "https://auth.openai.com/oauth/token", Scopes: "openid profile email offline_access"},
	}
}

// OAuthStart is what starts an OAuth onboarding.
type OAuthStart struct {
	// User is who starts it (and must complete it).
	User     int64
	Provider string
	// Channel, when set (an administrator's onboarding), is the channel the account joins;
	// otherwise the channel designated for the provider's contributed accounts.
	Channel  int64
	Shared   bool
	Nickname string
	// Callback is Poolgate's callback URL, used when the provider has no out-of-band redirect.
	Callback string
}

// Authorization is the URL to send the user to and the state that completes it.
type Authorization struct{ URL, State string }

type pendingOAuth struct {
	OAuthStart
	Verifier, Redirect string
}

func (s *Service) oauthProvider(name string) (OAuthProvider, bool) {
	if p, ok := s.OAuthProviders[name]; ok {
		return p, true
	}
	p, ok := DefaultOAuthProviders()[name]
	return p, ok
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// OAuthAuthorize starts onboarding an OAuth account (seed 001's /api/plugin-api/oauth/authorize):
// the provider's authorization URL with PKCE (S256) and a state kept server-side for
// OAuthStateTTL, bound to the user.
func (s *Service) OAuthAuthorize(ctx context.Context, in OAuthStart) (*Authorization, error) {
	p, ok := s.oauthProvider(in.Provider)
	if !ok || p.ClientID == "" {
		return nil, fault.Code(fault.Unprocessable, codeNotOffered, fmt.Sprintf("OAuth accounts are not offered for provider %q", in.Provider))
	}
	if in.Channel == 0 {
		if _, err := s.channel(ctx, in.Provider); err != nil {
			return nil, err
		}
	}
	nick, err := nickname(in.Nickname)
	if err != nil {
		return nil, err
	}
	in.Nickname = nick
	pending := pendingOAuth{OAuthStart: in, Verifier: random(32), Redirect: p.RedirectURI}
	if pending.Redirect == "" {
		pending.Redirect = in.Callback
	}
	state := random(24)
	raw, err := json.Marshal(pending)
	if err != nil {
		return nil, fmt.Errorf("encode oauth state: %w", err)
	}
	if err := s.Ephemeral.Put(ctx, oauthKey(state), s.Box.Seal(string(raw)), OAuthStateTTL); err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the authorization could not be started", err)
	}
	sum := sha256.Sum256([]byte(pending.Verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {p.ClientID}, "redirect_uri": {pending.Redirect},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	if p.Scopes != "" {
		q.Set("scope", p.Scopes)
	}
	sep := "?"
	if strings.Contains(p.AuthorizeURL, "?") {
		sep = "&"
	}
	return &Authorization{URL: p.AuthorizeURL + sep + q.Encode(), State: state}, nil
}

func oauthKey(state string) string { return "oauth-account:" + state }

// OAuthComplete finishes an onboarding started by user (the provider's callback, or the code the
// user pasted): the state is used once; the code is exchanged at the token URL with the PKCE
// verifier; the tokens are sealed into a new account. It returns the account's id.
func (s *Service) OAuthComplete(ctx context.Context, user int64, state, code string) (int64, error) {
	sealed, ok, err := s.Ephemeral.Take(ctx, oauthKey(state))
	if err != nil {
		return 0, fault.Wrap(fault.Unavailable, "the authorization could not be read", err)
	}
	var pending pendingOAuth
	if ok {
		raw, oerr := s.Box.Open(sealed)
		ok = oerr == nil && json.Unmarshal([]byte(raw), &pending) == nil
	}
	if !ok || pending.User != user {
		return 0, fault.Code(fault.Invalid, "invalid_state", "the authorization is unknown, expired, already used or not yours; start again")
	}
	p, _ := s.oauthProvider(pending.Provider)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {pending.Redirect},
		"client_id": {p.ClientID}, "code_verifier": {pending.Verifier}}
	cred, err := s.Refresher.Exchange(ctx, p.TokenURL, p.ClientID, form)
	if err != nil {
		return 0, err
	}
	if pending.Channel != 0 {
		return s.createInChannel(ctx, pending, cred)
	}
	a, err := s.create(ctx, user, Input{Provider: pending.Provider, Credential: cred.Encode(), Nickname: pending.Nickname,
		Shared: pending.Shared}, secretbox.Tail(cred.AccessToken))
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// createInChannel adds an administrator's OAuth account to the channel they chose.
func (s *Service) createInChannel(ctx context.Context, p pendingOAuth, cred *oauth.Credential) (int64, error) {
	a, err := s.Queries.AccountCreate(ctx, s.DB, db.AccountCreateParams{ChannelID: p.Channel, Name: "oauth:" + p.Provider,
		CredentialEnc: s.Box.Seal(cred.Encode()), CredentialTail: secretbox.Tail(cred.AccessToken), Weight: 1,
		Status: "active", Nickname: &p.Nickname})
	if err != nil {
		return 0, translateWrite(err)
	}
	s.Bus.Publish(ctx, bus.TopicRoutes, "")
	return a.ID, nil
}

// ephemeralStore is what OAuth states are kept in (Redis when configured, else in process).
type ephemeralStore = auth.Ephemeral
