// Package auth implements the auth contract: password registration and sign-in, e-mail codes
// and password reset, passkey sign-in, single sign-on, and sign-out.
package auth

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/api/auth"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	authn "github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/passkey"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/sso"
)

// Handler implements the auth contract.
type Handler struct {
	Pool     *pgxpool.Pool
	Queries  *db.Queries
	Auth     *authn.Service
	Settings *settings.Store
	// SSO runs single sign-on; Passkeys the WebAuthn ceremonies.
	SSO      *sso.Service
	Passkeys *passkey.Service
	// SecureCookies marks the session cookie Secure (production behind TLS).
	SecureCookies bool
}

var _ authapi.StrictServerInterface = (*Handler)(nil)

// signIn opens a session for the user: the answer's body (with the JWT) and its cookie.
func (h *Handler) signIn(ctx context.Context, u *db.User, method string) (authapi.SignedInJSONResponse, error) {
	iss, err := h.Auth.IssueVia(ctx, u, method)
	if err != nil {
		return authapi.SignedInJSONResponse{}, err
	}
	cookie := h.Auth.IssuedCookie(iss, h.SecureCookies)
	return authapi.SignedInJSONResponse{
		Body:    authapi.Session{Token: iss.Token, TokenType: authapi.Bearer, ExpiresAt: iss.ExpiresAt.UTC(), User: wire.User(u)},
		Headers: authapi.SignedInResponseHeaders{SetCookie: &cookie}}, nil
}

// SessionLogout ends the session the JWT or the cookie belongs to and clears the cookie.
func (h *Handler) SessionLogout(ctx context.Context, _ authapi.SessionLogoutRequestObject) (authapi.SessionLogoutResponseObject, error) {
	p := authn.PrincipalFrom(ctx)
	if p == nil {
		return nil, fault.New(fault.Unauthorized, httpx.MsgUnauthorized)
	}
	if err := h.Auth.SignOut(ctx, p); err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	clear := authn.ClearCookie(h.SecureCookies)
	return authapi.SessionLogout204Response{Headers: authapi.SessionLogout204ResponseHeaders{SetCookie: &clear}}, nil
}
