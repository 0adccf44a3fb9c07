package user

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/store"
)

// Where the callback sends a browser: the user's accounts page, or for an administrator's
// onboarding the channels page.
const (
	landingUser  = "/app/accounts"
	landingAdmin = "/admin/channels"
)

// ContributedAccountOAuthAuthorize starts onboarding an OAuth-based account.
func (h *Handler) ContributedAccountOAuthAuthorize(ctx context.Context, req userapi.ContributedAccountOAuthAuthorizeRequestObject) (userapi.ContributedAccountOAuthAuthorizeResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := accounts.OAuthStart{User: p.UserID, Provider: b.Provider}
	if b.Nickname != nil {
		in.Nickname = *b.Nickname
	}
	if b.Shared != nil {
		in.Shared = *b.Shared
	}
	a, err := h.Accounts.OAuthAuthorize(ctx, in)
	if err != nil {
		return nil, err
	}
	return userapi.ContributedAccountOAuthAuthorize200JSONResponse(wire.OAuthAuthorization(a)), nil
}

// ContributedAccountOAuthCallback finishes an onboarding at the provider's redirect: a browser
// lands on the console with the result, a program asking for JSON gets it.
func (h *Handler) ContributedAccountOAuthCallback(ctx context.Context, req userapi.ContributedAccountOAuthCallbackRequestObject) (userapi.ContributedAccountOAuthCallbackResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	q := req.Params
	added, err := h.Accounts.OAuthFinish(ctx, accounts.Completion{User: p.UserID, Admin: p.IsAdmin(), Callback: true,
		State: str(q.State), Code: str(q.Code), Error: str(q.Error), ErrorText: str(q.ErrorDescription)})
	if httpx.WantsJSON(ctx) {
		if err != nil {
			return nil, err
		}
		return userapi.ContributedAccountOAuthCallback201JSONResponse(wire.OAuthAccountAdded(added)), nil
	}
	v := url.Values{}
	landing := landingUser
	if err != nil {
		f, ok := fault.As(store.Translate(err, ""))
		if !ok || f.Status() >= 500 {
			return nil, err // logged and answered with its request id
		}
		v.Set("oauth", "failed")
		v.Set("code", f.Code)
		var ce *accounts.ChannelError
		if errors.As(err, &ce) { // an administrator's onboarding into a channel: shown on its page
			landing = landingAdmin
			v.Set("channel_id", strconv.FormatInt(ce.Channel, 10))
		}
	} else {
		v.Set("oauth", "added")
		v.Set("account_id", strconv.FormatInt(added.ID, 10))
		if added.Channel != 0 {
			landing = landingAdmin
			v.Set("channel_id", strconv.FormatInt(added.Channel, 10))
		}
	}
	loc := landing + "?" + v.Encode()
	return userapi.ContributedAccountOAuthCallback302Response{
		Headers: userapi.ContributedAccountOAuthCallback302ResponseHeaders{Location: &loc}}, nil
}

// ContributedAccountOAuthExchange finishes an onboarding with a code the user pasted.
func (h *Handler) ContributedAccountOAuthExchange(ctx context.Context, req userapi.ContributedAccountOAuthExchangeRequestObject) (userapi.ContributedAccountOAuthExchangeResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	code, state, err := accounts.SplitPastedCode(req.Body.Code, str(req.Body.State))
	if err != nil {
		return nil, err
	}
	added, err := h.Accounts.OAuthFinish(ctx, accounts.Completion{User: p.UserID, Admin: p.IsAdmin(), State: state, Code: code})
	if err != nil {
		return nil, err
	}
	return userapi.ContributedAccountOAuthExchange201JSONResponse(wire.OAuthAccountAdded(added)), nil
}
