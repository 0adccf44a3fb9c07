package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

// AccountOAuthAuthorize starts onboarding an OAuth-based account into a channel.
func (h *Handler) AccountOAuthAuthorize(ctx context.Context, req adminapi.AccountOAuthAuthorizeRequestObject) (adminapi.AccountOAuthAuthorizeResponseObject, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return nil, fault.New(fault.Unauthorized, httpx.MsgUnauthorized)
	}
	in := accounts.OAuthStart{User: p.UserID, Channel: req.Id}
	if b := req.Body; b != nil {
		if b.Provider != nil {
			in.Provider = string(*b.Provider)
		}
		if b.Nickname != nil {
			in.Nickname = *b.Nickname
		}
	}
	a, err := h.Contributed.OAuthAuthorize(ctx, in)
	if err != nil {
		return nil, err
	}
	return adminapi.AccountOAuthAuthorize200JSONResponse(wire.OAuthAuthorization(a)), nil
}

// AccountOAuthExchange finishes an administrator's onboarding with a pasted code.
func (h *Handler) AccountOAuthExchange(ctx context.Context, req adminapi.AccountOAuthExchangeRequestObject) (adminapi.AccountOAuthExchangeResponseObject, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return nil, fault.New(fault.Unauthorized, httpx.MsgUnauthorized)
	}
	state := ""
	if req.Body.State != nil {
		state = *req.Body.State
	}
	code, state, err := accounts.SplitPastedCode(req.Body.Code, state)
	if err != nil {
		return nil, err
	}
	added, err := h.Contributed.OAuthFinish(ctx, accounts.Completion{User: p.UserID, Admin: p.IsAdmin(), Channel: req.Id,
		State: state, Code: code})
	if err != nil {
		return nil, err
	}
	return adminapi.AccountOAuthExchange201JSONResponse(wire.OAuthAccountAdded(added)), nil
}
