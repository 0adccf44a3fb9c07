package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/store"
)

// OAuthStateTTL is how long an authorization started by OAuthAuthorize may be completed.
const OAuthStateTTL = 10 * time.Minute

// Error codes of OAuth onboarding (openapi/common/schemas.yaml).
const (
	codeInvalidState = "invalid_state"
	codeRefused      = "authorization_refused"
	msgInvalidState  = "the authorization is unknown, expired, already used or not yours; start again"
	// maxProviderText bounds what a provider's error text adds to a message.
	maxProviderText = 200
)

// OAuthProvider is where a provider's OAuth accounts authorize and get tokens.
type OAuthProvider struct {
	AuthorizeURL string `json:"authorize_url"`
	TokenURL     string `json:"token_url"`
	ClientID     string `json:"client_id"`
	// ClientSecret is sent with token requests by providers that want one (Google).
	ClientSecret string `json:"client_secret"` //nolint:gosec // configuration, sealed with the credential, never shown
	Scopes       string `json:"scopes"`
	// RedirectURI is where the provider sends the code: Poolgate's callback (empty: the
	// service's CallbackURL), or the provider's own page showing the code to paste (out-of-band).
	RedirectURI string `json:"redirect_uri"`
	// PasteCode says the provider shows the code to the user instead of redirecting to the
	// callback (set for the defaults with an out-of-band redirect).
	PasteCode bool `json:"paste_code"`
}

// DefaultOAuthProviders are the providers' public endpoints for OAuth-based accounts (Google for
// Gemini, Anthropic's console, OpenAI's Codex-style accounts). Their client ids are the
// operator's to register (OAUTH_ACCOUNT_PROVIDERS); Service.OAuthProviders overrides any of them.
func DefaultOAuthProviders() map[string]OAuthProvider {
	return map[string]OAuthProvider{
		"gemini": {AuthorizeURL: "https://accounts.google.com/o/oauth2/v2/auth", //nolint:gosec // public endpoints, no secret
			TokenURL: "https://oauth2.googleapis.com/token", Scopes: "https://www.googleapis.com/auth/cloud-platform openid email"},
		"anthropic": {AuthorizeURL: "https://claude.ai/oauth/authorize", //nolint:gosec // public endpoints, no secret
			TokenURL: "https://console.anthropic.com/v1/oauth/token", Scopes: "org:create_api_key user:profile user:inference",
			RedirectURI: "https://console.anthropic.com/oauth/code/callback", PasteCode: true},
		"openai": {AuthorizeURL: "https://auth.openai.com/oauth/authorize", //nolint:gosec // public endpoints, no secret
			TokenURL: "https://auth.openai.com/oauth/token", Scopes: "openid profile email offline_access"},
	}
}

// ParseOAuthProviders reads OAUTH_ACCOUNT_PROVIDERS: a JSON object by provider of its OAuth
// client, each member over the provider's defaults. A provider without a client_id is not offered.
func ParseOAuthProviders(raw string) (map[string]OAuthProvider, error) {
	out := map[string]OAuthProvider{}
	if strings.TrimSpace(raw) == "" {
		return out, nil
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, errors.New("OAUTH_ACCOUNT_PROVIDERS must be a JSON object by provider, such as {\"anthropic\":{\"client_id\":\"...\"}}")
	}
	defaults := DefaultOAuthProviders()
	for name, v := range in {
		p := defaults[name]
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, fmt.Errorf("OAUTH_ACCOUNT_PROVIDERS %q: %w", name, err)
		}
		if p.ClientID == "" {
			return nil, fmt.Errorf("OAUTH_ACCOUNT_PROVIDERS %q: client_id is required", name)
		}
		for field, u := range map[string]string{"authorize_url": p.AuthorizeURL, "token_url": p.TokenURL} {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
				return nil, fmt.Errorf("OAUTH_ACCOUNT_PROVIDERS %q: %s must be an http(s) URL", name, field)
			}
		}
		out[name] = p
	}
	return out, nil
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
	// Callback overrides the service's CallbackURL (the provider's redirect to Poolgate).
	Callback string
}

// Authorization is the URL to send the user to and the state that completes it.
type Authorization struct {
	URL, State, RedirectURI string
	// PasteCode says the provider shows the code to paste (no redirect to Poolgate).
	PasteCode bool
	ExpiresIn time.Duration
}

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

func notOffered(provider string) error {
	return fault.Code(fault.Unprocessable, codeNotOffered, fmt.Sprintf("OAuth accounts are not offered for provider %q", provider))
}

// OAuthAuthorize starts onboarding an OAuth account (seed 001's /api/plugin-api/oauth/authorize):
// the provider's authorization URL with PKCE (S256) and a state kept server-side for
// OAuthStateTTL, bound to the user. An administrator's onboarding (Channel set) needs the channel
// to exist.
func (s *Service) OAuthAuthorize(ctx context.Context, in OAuthStart) (*Authorization, error) {
	if in.Channel != 0 {
		ch, err := s.Queries.ChannelGet(ctx, s.DB, in.Channel)
		if err != nil {
			return nil, store.Translate(err, "channel not found")
		}
		if in.Provider == "" {
			in.Provider = ch.Type
		}
	}
	p, ok := s.oauthProvider(in.Provider)
	if !ok || p.ClientID == "" {
		return nil, notOffered(in.Provider)
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
	if pending.Redirect == "" {
		pending.Redirect = s.CallbackURL
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
	if p.PasteCode {
		q.Set("code", "true") // Anthropic's page then shows code#state to paste
	}
	sep := "?"
	if strings.Contains(p.AuthorizeURL, "?") {
		sep = "&"
	}
	return &Authorization{URL: p.AuthorizeURL + sep + q.Encode(), State: state, RedirectURI: pending.Redirect,
		PasteCode: p.PasteCode || (p.RedirectURI != "" && p.RedirectURI != s.CallbackURL), ExpiresIn: OAuthStateTTL}, nil
}

func oauthKey(state string) string { return "oauth-account:" + state }

// Completion is what completes an onboarding: the provider's redirect or a pasted code.
type Completion struct {
	// User is who completes it: the one who started it.
	User int64
	// Admin says User is an administrator now (an administrator's onboarding needs one).
	Admin       bool
	State, Code string
	// Error and ErrorText are the provider's refusal (callback `error`, `error_description`).
	Error, ErrorText string
	// Channel is the channel of an administrator's exchange route: the state must be for it. Zero
	// on the user routes.
	Channel int64
	// Callback accepts either kind of onboarding (the one redirect URI serves users and
	// administrators); otherwise a user route completes only a user's onboarding.
	Callback bool
}

// Added is the account an onboarding added.
type Added struct {
	ID       int64
	Provider string
	Shared   bool
	// Channel is set for an administrator's onboarding: the channel the account joined.
	Channel int64
}

// SplitPastedCode reads a pasted code: `code#state` (Anthropic's page shows this) or a bare code
// with its state given apart. A state inside the code must agree with the one given.
func SplitPastedCode(code, state string) (string, string, error) {
	code = strings.TrimSpace(code)
	if c, st, ok := strings.Cut(code, "#"); ok {
		if state != "" && st != state {
			return "", "", fault.Code(fault.Invalid, codeInvalidState, "the pasted code is for another authorization than state")
		}
		code, state = c, st
	}
	if code == "" {
		return "", "", fault.New(fault.Invalid, "code: the authorization code is empty")
	}
	if state == "" {
		return "", "", fault.Code(fault.Invalid, codeInvalidState, "state: paste the code as code#state, or give the state")
	}
	return code, state, nil
}

// OAuthFinish finishes an onboarding (the provider's callback, or the code the user pasted): the
// state is used once, by the user who started it; a refusal by the provider spends it; the code
// is exchanged at the token URL with the PKCE verifier; the tokens are sealed into a new account.
func (s *Service) OAuthFinish(ctx context.Context, in Completion) (*Added, error) {
	var channel int64
	added, err := s.oauthFinish(ctx, in, &channel)
	if err != nil && channel != 0 {
		return nil, &ChannelError{Channel: channel, Err: err}
	}
	return added, err
}

// ChannelError is how an administrator's onboarding into a channel failed once its state was
// read: the error, and the channel whose page should show it.
type ChannelError struct {
	Channel int64
	Err     error
}

func (e *ChannelError) Error() string { return e.Err.Error() }

// Unwrap is the error itself (a fault for the caller's answer).
func (e *ChannelError) Unwrap() error { return e.Err }

// oauthFinish is OAuthFinish; it sets *channel to the pending onboarding's channel once the
// state is known to be the caller's.
func (s *Service) oauthFinish(ctx context.Context, in Completion, channel *int64) (*Added, error) {
	if in.State == "" {
		return nil, fault.Code(fault.Invalid, codeInvalidState, msgInvalidState)
	}
	sealed, ok, err := s.Ephemeral.Take(ctx, oauthKey(in.State))
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the authorization could not be read", err)
	}
	var pending pendingOAuth
	if ok {
		raw, oerr := s.Box.Open(sealed)
		ok = oerr == nil && json.Unmarshal([]byte(raw), &pending) == nil
	}
	switch {
	case !ok || pending.User != in.User:
		ok = false
	case in.Channel != 0:
		ok = pending.Channel == in.Channel
	case pending.Channel != 0:
		ok = in.Callback && in.Admin
	}
	if !ok {
		return nil, fault.Code(fault.Invalid, codeInvalidState, msgInvalidState)
	}
	*channel = pending.Channel
	if in.Error != "" {
		msg := "the provider refused the authorization: " + clip(in.Error)
		if in.ErrorText != "" {
			msg += ": " + clip(in.ErrorText)
		}
		return nil, fault.Code(fault.Unprocessable, codeRefused, msg)
	}
	if in.Code == "" {
		return nil, fault.New(fault.Invalid, "code: the authorization code is missing")
	}
	p, ok := s.oauthProvider(pending.Provider)
	if !ok || p.ClientID == "" {
		return nil, notOffered(pending.Provider)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {in.Code}, "redirect_uri": {pending.Redirect},
		"client_id": {p.ClientID}, "code_verifier": {pending.Verifier}}
	if p.PasteCode {
		form.Set("state", in.State) // Anthropic's token endpoint asks for it back
	}
	if p.ClientSecret != "" {
		form.Set("client_secret", p.ClientSecret)
	}
	cred, err := s.Refresher.Exchange(ctx, p.TokenURL, p.ClientID, form)
	if err != nil {
		return nil, err
	}
	cred.ClientSecret = p.ClientSecret
	if pending.Channel != 0 {
		id, err := s.createInChannel(ctx, pending, cred)
		if err != nil {
			return nil, err
		}
		return &Added{ID: id, Provider: pending.Provider, Channel: pending.Channel}, nil
	}
	a, err := s.create(ctx, pending.User, Input{Provider: pending.Provider, Credential: cred.Encode(), Nickname: pending.Nickname,
		Shared: pending.Shared}, secretbox.Tail(cred.AccessToken))
	if err != nil {
		return nil, err
	}
	return &Added{ID: a.ID, Provider: a.Provider, Shared: a.Shared}, nil
}

// OAuthComplete finishes a user's onboarding with its state and code and returns the account's id.
func (s *Service) OAuthComplete(ctx context.Context, user int64, state, code string) (int64, error) {
	a, err := s.OAuthFinish(ctx, Completion{User: user, State: state, Code: code})
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// createInChannel adds an administrator's OAuth account to the channel they chose.
func (s *Service) createInChannel(ctx context.Context, p pendingOAuth, cred *oauth.Credential) (int64, error) {
	a, err := s.Queries.AccountCreate(ctx, s.DB, db.AccountCreateParams{ChannelID: p.Channel, Name: "oauth:" + p.Provider,
		CredentialEnc: s.Box.Seal(cred.Encode()), CredentialTail: secretbox.Tail(cred.AccessToken), Weight: 1,
		Status: pool.StatusActive, Nickname: &p.Nickname})
	if err != nil {
		return 0, store.Translate(err, "channel not found")
	}
	s.Bus.Publish(ctx, bus.TopicRoutes, "")
	return a.ID, nil
}

// OAuthProviderNames lists the providers offering OAuth accounts (a client configured), sorted.
func (s *Service) OAuthProviderNames() []string {
	var out []string
	for name, p := range s.OAuthProviders {
		if p.ClientID != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func clip(s string) string {
	r := []rune(s)
	if len(r) > maxProviderText {
		return string(r[:maxProviderText]) + "…"
	}
	return string(r)
}

// ephemeralStore is what OAuth states are kept in (Redis when configured, else in process).
type ephemeralStore = auth.Ephemeral
