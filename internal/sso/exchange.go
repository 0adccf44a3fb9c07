package sso

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// enabled finds an enabled provider by slug.
func (s *Service) enabled(ctx context.Context, slug string) (*db.OIDCProvider, error) {
	p, err := s.Queries.OIDCProviderGetBySlug(ctx, s.Pool, slug)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, errNoProvider
		}
		return nil, err
	}
	if !p.Enabled {
		return nil, errNoProvider
	}
	return p, nil
}

// config is the OAuth2 client of a provider; for an OpenID provider, the endpoints come from its
// discovery document (kept discoveryTTL), returned with its ID token verifier.
func (s *Service) config(ctx context.Context, p *db.OIDCProvider) (*oauth2.Config, *discovered, error) {
	secret := ""
	if p.ClientSecretEnc != nil {
		v, err := s.Box.Open(p.ClientSecretEnc)
		if err != nil {
			return nil, nil, fmt.Errorf("open the client secret of provider %s: %w", p.Slug, err)
		}
		secret = v
	}
	cfg := &oauth2.Config{ClientID: p.ClientID, ClientSecret: secret, RedirectURL: s.RedirectURI(), Scopes: p.Scopes}
	if p.Kind != KindOIDC {
		cfg.Endpoint = oauth2.Endpoint{AuthURL: p.AuthorizationURL, TokenURL: p.TokenURL}
		return cfg, nil, nil
	}
	d, err := s.discover(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	cfg.Endpoint = d.provider.Endpoint()
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	return cfg, d, nil
}

func (s *Service) discover(ctx context.Context, p *db.OIDCProvider) (*discovered, error) {
	key := p.Issuer + "\x00" + p.ClientID
	s.mu.Lock()
	d := s.found[p.ID]
	s.mu.Unlock()
	if d != nil && d.key == key && time.Since(d.at) < discoveryTTL {
		return d, nil
	}
	prov, err := oidc.NewProvider(s.clientContext(ctx), p.Issuer)
	if err != nil {
		s.log().Warn("sso discovery failed", "provider", p.Slug, "error", err)
		return nil, errFailed
	}
	d = &discovered{key: key, provider: prov, at: time.Now(),
		verifier: prov.VerifierContext(s.clientContext(context.WithoutCancel(ctx)), &oidc.Config{ClientID: p.ClientID})}
	s.mu.Lock()
	if s.found == nil {
		s.found = map[int64]*discovered{}
	}
	s.found[p.ID] = d
	s.mu.Unlock()
	return d, nil
}

// exchange redeems the code and returns the user's claims as JSON: for an OpenID provider the
// verified ID token's, completed by its UserInfo (same subject); for OAuth2 the userinfo
// answer.
func (s *Service) exchange(ctx context.Context, p *db.OIDCProvider, f flow, code string) ([]byte, error) {
	cfg, d, err := s.config(ctx, p)
	if err != nil {
		return nil, err
	}
	if f.Redirect != "" {
		cfg.RedirectURL = f.Redirect
	}
	cctx := s.clientContext(ctx)
	tok, err := cfg.Exchange(cctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		s.log().Warn("sso code exchange failed", "provider", p.Slug, "error", err)
		return nil, errFailed
	}
	claims := map[string]any{}
	if p.Kind == KindOIDC {
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			s.log().Warn("sso answer has no id_token", "provider", p.Slug)
			return nil, errFailed
		}
		idt, err := d.verifier.Verify(cctx, raw)
		if err != nil {
			s.log().Warn("sso id_token does not verify", "provider", p.Slug, "error", err)
			return nil, errFailed
		}
		if idt.Nonce != f.Nonce {
			s.log().Warn("sso id_token nonce mismatch", "provider", p.Slug)
			return nil, errFailed
		}
		if err := idt.Claims(&claims); err != nil {
			return nil, errFailed
		}
		if d.provider.UserInfoEndpoint() != "" {
			ui, err := d.provider.UserInfo(cctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != idt.Subject {
				s.log().Warn("sso userinfo failed", "provider", p.Slug, "error", err)
				return nil, errFailed
			}
			extra := map[string]any{}
			if err := ui.Claims(&extra); err == nil {
				for k, v := range extra {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	} else if claims, err = s.userinfo(cctx, p, tok); err != nil {
		return nil, err
	}
	return json.Marshal(claims)
}

// userinfo reads an OAuth2 provider's user document with the access token.
func (s *Service) userinfo(ctx context.Context, p *db.OIDCProvider, tok *oauth2.Token) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserinfoURL, nil)
	if err != nil {
		return nil, errFailed
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	res, err := s.client().Do(req)
	if err != nil {
		s.log().Warn("sso userinfo failed", "provider", p.Slug, "error", err)
		return nil, errFailed
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	claims := map[string]any{}
	if err != nil || res.StatusCode != http.StatusOK || json.Unmarshal(body, &claims) != nil {
		s.log().Warn("sso userinfo failed", "provider", p.Slug, "status", res.StatusCode)
		return nil, errFailed
	}
	return claims, nil
}
