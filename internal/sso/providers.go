package sso

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/store"
)

// Provider kinds.
const (
	KindOIDC   = "oidc"
	KindOAuth2 = "oauth2"
)

// DefaultSlug names the provider configured by OIDC_ISSUER.
const DefaultSlug = "oidc"

// Provider is a provider's settings as an administrator writes them. Empty strings and nil
// slices of a preset's fields take the preset's values.
type Provider struct {
	Name                                            string
	Kind                                            string
	Issuer, AuthorizationURL, TokenURL, UserInfoURL string
	ClientID                                        string
	Scopes                                          []string
	AutoRegister, Enabled                           bool
	ClaimSubject, ClaimUsername, ClaimEmail         string
	ClaimTrustLevel                                 string
}

// Presets are well-known providers: GitHub (OAuth2; the user's numeric id, login and public
// e-mail) and Linux.do (OAuth2 through connect.linux.do; id, username, e-mail and trust level).
var Presets = map[string]Provider{
	"github": { //nolint:gosec // public endpoints and claim names, no credentials
		Name: "GitHub", Kind: KindOAuth2, AuthorizationURL: "https://github.com/login/oauth/authorize",
		TokenURL: "https://github.com/login/oauth/access_token", UserInfoURL: "https://api.github.com/user",
		Scopes: []string{"read:user", "user:email"}, ClaimSubject: "id", ClaimUsername: "login", ClaimEmail: "email"},
	"linuxdo": { //nolint:gosec // public endpoints and claim names, no credentials
		Name: "Linux.do", Kind: KindOAuth2, AuthorizationURL: "https://connect.linux.do/oauth2/authorize",
		TokenURL: "https://connect.linux.do/oauth2/token", UserInfoURL: "https://connect.linux.do/api/user",
		Scopes: []string{"read"}, ClaimSubject: "id", ClaimUsername: "username", ClaimEmail: "email",
		ClaimTrustLevel: "trust_level"},
}

// defaults fill what neither the request nor a preset set.
var defaults = Provider{Kind: KindOIDC, ClaimSubject: "sub", ClaimUsername: "preferred_username", ClaimEmail: "email"}

// WithPreset returns p with the empty fields taken from the preset (unknown names are an error)
// and then from the defaults.
func WithPreset(p Provider, preset string) (Provider, error) {
	if preset != "" {
		pre, ok := Presets[preset]
		if !ok {
			return p, fault.New(fault.Invalid, "unknown preset "+preset)
		}
		p = fill(p, pre)
	}
	p = fill(p, defaults)
	if p.Scopes == nil {
		p.Scopes = []string{}
		if p.Kind == KindOIDC {
			p.Scopes = []string{"openid", "email", "profile"}
		}
	}
	return p, nil
}

func fill(p, from Provider) Provider {
	for _, f := range []struct{ dst, src *string }{{&p.Name, &from.Name}, {&p.Kind, &from.Kind}, {&p.Issuer, &from.Issuer},
		{&p.AuthorizationURL, &from.AuthorizationURL}, {&p.TokenURL, &from.TokenURL}, {&p.UserInfoURL, &from.UserInfoURL},
		{&p.ClaimSubject, &from.ClaimSubject}, {&p.ClaimUsername, &from.ClaimUsername}, {&p.ClaimEmail, &from.ClaimEmail},
		{&p.ClaimTrustLevel, &from.ClaimTrustLevel}} {
		if *f.dst == "" {
			*f.dst = *f.src
		}
	}
	if p.Scopes == nil {
		p.Scopes = slices.Clone(from.Scopes)
	}
	return p
}

// Check validates a provider before it is saved: an OpenID provider needs its issuer, an OAuth2
// one its three URLs, and every URL Poolgate calls (issuer, token and userinfo URLs) must be
// allowed by the outbound guard.
func (s *Service) Check(ctx context.Context, p Provider) error {
	switch p.Kind {
	case KindOIDC:
		if p.Issuer == "" {
			return fault.New(fault.Unprocessable, "an oidc provider needs issuer")
		}
	case KindOAuth2:
		if p.AuthorizationURL == "" || p.TokenURL == "" || p.UserInfoURL == "" {
			return fault.New(fault.Unprocessable, "an oauth2 provider needs authorization_url, token_url and userinfo_url")
		}
	default:
		return fault.New(fault.Invalid, "kind must be oidc or oauth2")
	}
	if s.Guard == nil {
		return nil
	}
	for _, f := range []struct{ name, url string }{{"issuer", p.Issuer}, {"token_url", p.TokenURL}, {"userinfo_url", p.UserInfoURL}} {
		if f.url == "" {
			continue
		}
		// A host that does not resolve now is checked again when dialled. The message names the
		// field and the host, never the URL (it may carry credentials).
		if err := s.Guard.Check(ctx, f.url); err != nil && !errors.Is(err, netguard.ErrResolve) {
			return fault.New(fault.Unprocessable, fmt.Sprintf("%s is not allowed: %v", f.name, err))
		}
	}
	return nil
}

// UpsertDefault writes the provider configured by OIDC_ISSUER, OIDC_CLIENT_ID and
// OIDC_CLIENT_SECRET (slug `oidc`); the environment wins over edits at every start.
func (s *Service) UpsertDefault(ctx context.Context, issuer, clientID, secret string) error {
	var enc []byte
	if secret != "" {
		enc = s.Box.Seal(secret)
	}
	err := s.Queries.OIDCProviderUpsertDefault(ctx, s.Pool, db.OIDCProviderUpsertDefaultParams{Name: "OpenID",
		Issuer: issuer, ClientID: clientID, ClientSecretEnc: enc, Scopes: []string{"openid", "email", "profile"}})
	if err != nil {
		return fmt.Errorf("OIDC_ISSUER: save the default provider: %w", store.Translate(err, ""))
	}
	s.forget()
	return nil
}

// RedirectURI is the callback every provider redirects to.
func (s *Service) RedirectURI() string { return s.PublicURL + "/auth/callback" }
