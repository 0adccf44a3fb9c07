package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/sso"
	"github.com/poolgate/poolgate/internal/store"
)

const providerNotFound = "sign-in provider not found"

func (h *Handler) providerOut(p *db.OIDCProvider) adminapi.OIDCProvider {
	return adminapi.OIDCProvider{Id: p.ID, Slug: p.Slug, Name: p.Name, Kind: adminapi.OIDCProviderKind(p.Kind),
		Issuer: p.Issuer, AuthorizationUrl: p.AuthorizationURL, TokenUrl: p.TokenURL, UserinfoUrl: p.UserinfoURL,
		ClientId: p.ClientID, HasClientSecret: p.ClientSecretEnc != nil, Scopes: p.Scopes, AutoRegister: p.AutoRegister,
		Enabled: p.Enabled, ClaimSubject: p.ClaimSubject, ClaimUsername: p.ClaimUsername, ClaimEmail: p.ClaimEmail,
		ClaimTrustLevel: p.ClaimTrustLevel, RedirectUri: h.SSO.RedirectURI(), CreatedAt: p.CreatedAt.UTC(),
		UpdatedAt: p.UpdatedAt.UTC()}
}

func providerOf(p *db.OIDCProvider) sso.Provider {
	return sso.Provider{Name: p.Name, Kind: p.Kind, Issuer: p.Issuer, AuthorizationURL: p.AuthorizationURL,
		TokenURL: p.TokenURL, UserInfoURL: p.UserinfoURL, ClientID: p.ClientID, Scopes: p.Scopes,
		AutoRegister: p.AutoRegister, Enabled: p.Enabled, ClaimSubject: p.ClaimSubject, ClaimUsername: p.ClaimUsername,
		ClaimEmail: p.ClaimEmail, ClaimTrustLevel: p.ClaimTrustLevel}
}

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// set copies a present field over a provider's value.
func set[T ~string](dst *string, p *T) {
	if p != nil {
		*dst = string(*p)
	}
}

// switches copies the scopes and flags present in a request over a provider's.
func switches(p *sso.Provider, scopes *[]string, autoRegister, enabled *bool) {
	if scopes != nil {
		p.Scopes = *scopes
	}
	if autoRegister != nil {
		p.AutoRegister = *autoRegister
	}
	if enabled != nil {
		p.Enabled = *enabled
	}
}

// OidcProviderList lists the sign-in providers.
func (h *Handler) OidcProviderList(ctx context.Context, _ adminapi.OidcProviderListRequestObject) (adminapi.OidcProviderListResponseObject, error) {
	rows, err := h.Queries.OIDCProviderList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	out := adminapi.OidcProviderList200JSONResponse{Items: make([]adminapi.OIDCProvider, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, h.providerOut(r))
	}
	return out, nil
}

// OidcProviderGet reads one sign-in provider.
func (h *Handler) OidcProviderGet(ctx context.Context, req adminapi.OidcProviderGetRequestObject) (adminapi.OidcProviderGetResponseObject, error) {
	p, err := h.Queries.OIDCProviderGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, providerNotFound)
	}
	return adminapi.OidcProviderGet200JSONResponse(h.providerOut(p)), nil
}

// OidcProviderCreate adds a sign-in provider, filled in from a preset when one is named.
func (h *Handler) OidcProviderCreate(ctx context.Context, req adminapi.OidcProviderCreateRequestObject) (adminapi.OidcProviderCreateResponseObject, error) {
	b := req.Body
	in := sso.Provider{Name: b.Name, Kind: str(b.Kind), Issuer: str(b.Issuer), AuthorizationURL: str(b.AuthorizationUrl),
		TokenURL: str(b.TokenUrl), UserInfoURL: str(b.UserinfoUrl), ClientID: b.ClientId, AutoRegister: true, Enabled: true,
		ClaimSubject: str(b.ClaimSubject), ClaimUsername: str(b.ClaimUsername), ClaimEmail: str(b.ClaimEmail),
		ClaimTrustLevel: str(b.ClaimTrustLevel)}
	switches(&in, b.Scopes, b.AutoRegister, b.Enabled)
	in, err := sso.WithPreset(in, str(b.Preset))
	if err != nil {
		return nil, err
	}
	if err := h.SSO.Check(ctx, in); err != nil {
		return nil, err
	}
	var secret []byte
	if b.ClientSecret != nil && *b.ClientSecret != "" {
		secret = h.Box.Seal(*b.ClientSecret)
	}
	p, err := h.Queries.OIDCProviderCreate(ctx, h.Pool, db.OIDCProviderCreateParams{Slug: b.Slug, Name: in.Name, Kind: in.Kind,
		Issuer: in.Issuer, AuthorizationURL: in.AuthorizationURL, TokenURL: in.TokenURL, UserinfoURL: in.UserInfoURL,
		ClientID: in.ClientID, ClientSecretEnc: secret, Scopes: in.Scopes, AutoRegister: in.AutoRegister, Enabled: in.Enabled,
		ClaimSubject: in.ClaimSubject, ClaimUsername: in.ClaimUsername, ClaimEmail: in.ClaimEmail,
		ClaimTrustLevel: in.ClaimTrustLevel})
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, "a provider with this slug already exists")
	}
	if err != nil {
		return nil, err
	}
	return adminapi.OidcProviderCreate201JSONResponse(h.providerOut(p)), nil
}

// OidcProviderUpdate changes the fields present; `client_secret` replaces the secret.
func (h *Handler) OidcProviderUpdate(ctx context.Context, req adminapi.OidcProviderUpdateRequestObject) (adminapi.OidcProviderUpdateResponseObject, error) {
	old, err := h.Queries.OIDCProviderGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, providerNotFound)
	}
	b := req.Body
	in := providerOf(old)
	set(&in.Name, b.Name)
	set(&in.Kind, b.Kind)
	set(&in.Issuer, b.Issuer)
	set(&in.AuthorizationURL, b.AuthorizationUrl)
	set(&in.TokenURL, b.TokenUrl)
	set(&in.UserInfoURL, b.UserinfoUrl)
	set(&in.ClientID, b.ClientId)
	set(&in.ClaimSubject, b.ClaimSubject)
	set(&in.ClaimUsername, b.ClaimUsername)
	set(&in.ClaimEmail, b.ClaimEmail)
	set(&in.ClaimTrustLevel, b.ClaimTrustLevel)
	switches(&in, b.Scopes, b.AutoRegister, b.Enabled)
	if err := h.SSO.Check(ctx, in); err != nil {
		return nil, err
	}
	p := db.OIDCProviderUpdateParams{ID: req.Id, Name: in.Name, Kind: in.Kind, Issuer: in.Issuer,
		AuthorizationURL: in.AuthorizationURL, TokenURL: in.TokenURL, UserinfoURL: in.UserInfoURL, ClientID: in.ClientID,
		Scopes: in.Scopes, AutoRegister: in.AutoRegister, Enabled: in.Enabled, ClaimSubject: in.ClaimSubject,
		ClaimUsername: in.ClaimUsername, ClaimEmail: in.ClaimEmail, ClaimTrustLevel: in.ClaimTrustLevel}
	if b.ClientSecret != nil {
		p.SetSecret = true
		if *b.ClientSecret != "" {
			p.ClientSecretEnc = h.Box.Seal(*b.ClientSecret)
		}
	}
	row, err := h.Queries.OIDCProviderUpdate(ctx, h.Pool, p)
	if err != nil {
		return nil, store.Translate(err, providerNotFound)
	}
	return adminapi.OidcProviderUpdate200JSONResponse(h.providerOut(row)), nil
}

// OidcProviderDelete removes a sign-in provider and the identities linked through it.
func (h *Handler) OidcProviderDelete(ctx context.Context, req adminapi.OidcProviderDeleteRequestObject) (adminapi.OidcProviderDeleteResponseObject, error) {
	n, err := h.Queries.OIDCProviderDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, providerNotFound)
	}
	return adminapi.OidcProviderDelete204Response{}, nil
}
