package seed001

import (
	"context"
	"time"

	"github.com/poolgate/poolgate/gen/api/seed001"
	"github.com/poolgate/poolgate/gen/db"
	authn "github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/sso"
)

// SeedSessionCreate signs a user in with a password (Poolgate's password sign-in) and answers
// the JWT with the user.
func (h *Handler) SeedSessionCreate(ctx context.Context, req seed001api.SeedSessionCreateRequestObject) (seed001api.SeedSessionCreateResponseObject, error) {
	u, err := h.Auth.PasswordLogin(ctx, authn.Login{Username: req.Body.Username, Password: req.Body.Password})
	if err != nil {
		return nil, err
	}
	res, err := h.signIn(ctx, u, authn.MethodPassword)
	if err != nil {
		return nil, err
	}
	return seed001api.SeedSessionCreate200JSONResponse(*res), nil
}

// SeedSsoInitiate starts a single sign-on whose provider redirects to /api/auth/sso/callback.
func (h *Handler) SeedSsoInitiate(ctx context.Context, req seed001api.SeedSsoInitiateRequestObject) (seed001api.SeedSsoInitiateResponseObject, error) {
	slug := sso.DefaultSlug
	if req.Params.Provider != nil {
		slug = *req.Params.Provider
	}
	u, state, err := h.SSO.BeginStateOnly(ctx, slug, h.PublicURL+CallbackPath)
	if err != nil {
		return nil, err
	}
	return seed001api.SeedSsoInitiate200JSONResponse{AuthorizationUrl: u, State: state}, nil
}

// SeedSsoCallback finishes a single sign-on begun at /api/auth/sso/initiate and answers the JWT.
func (h *Handler) SeedSsoCallback(ctx context.Context, req seed001api.SeedSsoCallbackRequestObject) (seed001api.SeedSsoCallbackResponseObject, error) {
	p := req.Params
	r, err := h.SSO.FinishStateOnly(ctx, sso.Callback{Code: deref(p.Code), State: deref(p.State), Error: deref(p.Error),
		ErrorText: deref(p.ErrorDescription)})
	if err != nil {
		return nil, err
	}
	res, err := h.signIn(ctx, r.User, authn.MethodSSO)
	if err != nil {
		return nil, err
	}
	return seed001api.SeedSsoCallback200JSONResponse(*res), nil
}

// SeedSessionDelete ends the caller's session.
func (h *Handler) SeedSessionDelete(ctx context.Context, _ seed001api.SeedSessionDeleteRequestObject) (seed001api.SeedSessionDeleteResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Auth.SignOut(ctx, p); err != nil && !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	return seed001api.SeedSessionDelete200JSONResponse{Success: true, Message: "signed out"}, nil
}

// SeedMeGet answers the signed-in user.
func (h *Handler) SeedMeGet(ctx context.Context, _ seed001api.SeedMeGetRequestObject) (seed001api.SeedMeGetResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, err
	}
	return seed001api.SeedMeGet200JSONResponse(userOut(u)), nil
}

// signIn opens a session for the user and answers its JWT.
func (h *Handler) signIn(ctx context.Context, u *db.User, method string) (*seed001api.LoginResponse, error) {
	iss, err := h.Auth.IssueVia(ctx, u, method)
	if err != nil {
		return nil, err
	}
	return &seed001api.LoginResponse{AccessToken: iss.Token, TokenType: seed001api.Bearer,
		ExpiresIn: max(0, int64(time.Until(iss.ExpiresAt)/time.Second)), User: userOut(u)}, nil
}

func userOut(u *db.User) seed001api.User {
	return seed001api.User{Id: u.ID, Username: u.Username, TrustLevel: int(u.TrustLevel),
		IsActive: u.Status != authn.StatusDisabled, IsSilenced: u.Status == authn.StatusMuted, CreatedAt: u.CreatedAt}
}

func principal(ctx context.Context) (*authn.Principal, error) {
	p := authn.PrincipalFrom(ctx)
	if p == nil {
		return nil, fault.New(fault.Unauthorized, httpx.MsgUnauthorized)
	}
	return p, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
