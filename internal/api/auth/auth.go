// Package auth implements the auth contract: password registration, sign-in and sign-out.
package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	gen "github.com/poolgate/poolgate/gen/api/auth"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/common"
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

var _ gen.StrictServerInterface = (*Handler)(nil)

// PasswordRegister creates a user and signs them in.
func (h *Handler) PasswordRegister(ctx context.Context, req gen.PasswordRegisterRequestObject) (gen.PasswordRegisterResponseObject, error) {
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
	return gen.PasswordRegister200JSONResponse{SignedInJSONResponse: gen.SignedInJSONResponse{
		Body: body, Headers: gen.SignedInResponseHeaders{SetCookie: &cookie}}}, nil
}

// PasswordLogin signs a user in.
func (h *Handler) PasswordLogin(ctx context.Context, req gen.PasswordLoginRequestObject) (gen.PasswordLoginResponseObject, error) {
	u, err := h.Auth.Login(ctx, req.Body.Username, req.Body.Password)
	if err != nil {
		return nil, err
	}
	body, cookie, err := h.signIn(ctx, u)
	if err != nil {
		return nil, err
	}
	return gen.PasswordLogin200JSONResponse{SignedInJSONResponse: gen.SignedInJSONResponse{
		Body: body, Headers: gen.SignedInResponseHeaders{SetCookie: &cookie}}}, nil
}

func (h *Handler) signIn(ctx context.Context, u *db.User) (gen.Session, string, error) {
	iss, err := h.Auth.Issue(ctx, u)
	if err != nil {
		return gen.Session{}, "", err
	}
	c := &http.Cookie{ //nolint:gosec // Secure is set in production; development runs over plain HTTP
		Name: authn.SessionCookie, Value: iss.SessionID, Path: "/", MaxAge: int(authn.TokenTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.SecureCookies}
	return gen.Session{Token: iss.Token, TokenType: gen.Bearer, ExpiresAt: iss.ExpiresAt.UTC(), User: common.User(u)}, c.String(), nil
}

// SessionLogout revokes the presented JWT and deletes the session cookie's session.
func (h *Handler) SessionLogout(ctx context.Context, _ gen.SessionLogoutRequestObject) (gen.SessionLogoutResponseObject, error) {
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
	return gen.SessionLogout204Response{Headers: gen.SessionLogout204ResponseHeaders{SetCookie: &clear}}, nil
}
