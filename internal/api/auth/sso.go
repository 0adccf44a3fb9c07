package auth

import (
	"context"
	"net/http"

	"github.com/poolgate/poolgate/gen/api/auth"
	authn "github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/sso"
)

// SsoLogin redirects to the provider's authorization page and sets the cookie that ties the
// callback to this browser.
func (h *Handler) SsoLogin(ctx context.Context, req authapi.SsoLoginRequestObject) (authapi.SsoLoginResponseObject, error) {
	slug := sso.DefaultSlug
	if req.Params.Provider != nil {
		slug = *req.Params.Provider
	}
	loc, browser, err := h.SSO.Begin(ctx, slug, deref(req.Params.ReturnTo), deref(req.Params.Bind), deref(req.Params.Aff))
	if err != nil {
		return nil, err
	}
	c := (&http.Cookie{Name: sso.BrowserCookie, Value: browser, Path: "/auth/callback", MaxAge: 600, //nolint:gosec // Secure is set in production; development runs over plain HTTP
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.SecureCookies}).String()
	return authapi.SsoLogin302Response{Headers: authapi.SsoLogin302ResponseHeaders{Location: &loc, SetCookie: &c}}, nil
}

// SsoCallback finishes a sign-in: signs the user in (session cookie) and redirects to where they
// were going; a linked identity redirects without a new session.
func (h *Handler) SsoCallback(ctx context.Context, req authapi.SsoCallbackRequestObject) (authapi.SsoCallbackResponseObject, error) {
	p := req.Params
	res, err := h.SSO.Finish(ctx, sso.Callback{Code: deref(p.Code), State: deref(p.State), Error: deref(p.Error),
		ErrorText: deref(p.ErrorDescription), Browser: deref(p.PoolgateSso)})
	if err != nil {
		return nil, err
	}
	out := authapi.SsoCallback302Response{Headers: authapi.SsoCallback302ResponseHeaders{Location: &res.ReturnTo}}
	if !res.Linked {
		iss, err := h.Auth.IssueVia(ctx, res.User, authn.MethodSSO)
		if err != nil {
			return nil, err
		}
		c := h.Auth.IssuedCookie(iss, h.SecureCookies)
		out.Headers.SetCookie = &c
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
