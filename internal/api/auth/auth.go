// Package auth implements the auth contract: password registration, sign-in and sign-out.
package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/api/auth"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	authn "github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/store"
)

// Handler implements the auth contract.
type Handler struct {
	Pool     *pgxpool.Pool
	Queries  *db.Queries
	Auth     *authn.Service
	Settings *settings.Store
	// SecureCookies marks the session cookie Secure (production behind TLS).
	SecureCookies bool
}

var _ authapi.StrictServerInterface = (*Handler)(nil)

// PasswordRegister creates a user and signs them in.
func (h *Handler) PasswordRegister(ctx context.Context, req authapi.PasswordRegisterRequestObject) (authapi.PasswordRegisterResponseObject, error) {
	s := h.Settings.Get()
	if !s.RegistrationEnabled {
		return nil, fault.New(fault.Forbidden, "registration is disabled")
	}
	hash, err := h.Auth.HashPassword(req.Body.Password)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserCreate(ctx, h.Pool, db.UserCreateParams{
		Username: req.Body.Username, PasswordHash: hash, Role: authn.RoleUser, Balance: s.NewUserBalance})
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, "username is already taken")
	}
	if err != nil {
		return nil, store.Translate(err, "")
	}
	body, cookie, err := h.signIn(ctx, u)
	if err != nil {
		return nil, err
	}
	return authapi.PasswordRegister200JSONResponse{SignedInJSONResponse: authapi.SignedInJSONResponse{
		Body: body, Headers: authapi.SignedInResponseHeaders{SetCookie: &cookie}}}, nil
}

// PasswordLogin signs a user in.
func (h *Handler) PasswordLogin(ctx context.Context, req authapi.PasswordLoginRequestObject) (authapi.PasswordLoginResponseObject, error) {
	u, err := h.Auth.Login(ctx, req.Body.Username, req.Body.Password)
	if err != nil {
		return nil, err
	}
	body, cookie, err := h.signIn(ctx, u)
	if err != nil {
		return nil, err
	}
	return authapi.PasswordLogin200JSONResponse{SignedInJSONResponse: authapi.SignedInJSONResponse{
		Body: body, Headers: authapi.SignedInResponseHeaders{SetCookie: &cookie}}}, nil
}

func (h *Handler) signIn(ctx context.Context, u *db.User) (authapi.Session, string, error) {
	iss, err := h.Auth.Issue(ctx, u)
	if err != nil {
		return authapi.Session{}, "", err
	}
	c := &http.Cookie{ //nolint:gosec // Secure is set in production; development runs over plain HTTP
		Name: authn.SessionCookie, Value: iss.SessionID, Path: "/", MaxAge: int(authn.TokenTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.SecureCookies}
	return authapi.Session{Token: iss.Token, TokenType: authapi.Bearer, ExpiresAt: iss.ExpiresAt.UTC(), User: wire.User(u)}, c.String(), nil
}

// SessionLogout revokes the presented JWT and deletes the session cookie's session.
func (h *Handler) SessionLogout(ctx context.Context, _ authapi.SessionLogoutRequestObject) (authapi.SessionLogoutResponseObject, error) {
	p := authn.PrincipalFrom(ctx)
	if p == nil {
		return nil, fault.New(fault.Unauthorized, httpx.MsgUnauthorized)
	}
	sid := p.SessionID
	if c := httpx.Echo(ctx); c != nil && sid == "" {
		if ck, err := c.Cookie(authn.SessionCookie); err == nil {
			sid = ck.Value
		}
	}
	if err := h.Auth.Revoke(ctx, p, sid); err != nil {
		return nil, err
	}
	clear := (&http.Cookie{ //nolint:gosec // Secure is set in production; development runs over plain HTTP
		Name: authn.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.SecureCookies}).String()
	return authapi.SessionLogout204Response{Headers: authapi.SessionLogout204ResponseHeaders{SetCookie: &clear}}, nil
}
