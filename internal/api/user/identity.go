package user

import (
	"context"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/store"
)

// session is the signed-in principal when the call was made with a session (not an API key):
// changing how the user signs in needs one.
func session(ctx context.Context) (*auth.Principal, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	if err := auth.RequireSession(p); err != nil {
		return nil, err
	}
	return p, nil
}

// PasswordMethodGet says how the user can change their password.
func (h *Handler) PasswordMethodGet(ctx context.Context, _ userapi.PasswordMethodGetRequestObject) (userapi.PasswordMethodGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	out := userapi.PasswordMethodGet200JSONResponse{HasPassword: u.PasswordSet, Email: wire.Null(u.Email),
		Methods: []userapi.PasswordMethodMethods{}}
	if u.PasswordSet {
		out.Methods = append(out.Methods, userapi.OldPassword)
	}
	if u.Email != nil {
		out.Methods = append(out.Methods, userapi.EmailCode)
	}
	return out, nil
}

// PasswordCodeSend mails a code for changing the password to the user's address.
func (h *Handler) PasswordCodeSend(ctx context.Context, _ userapi.PasswordCodeSendRequestObject) (userapi.PasswordCodeSendResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Auth.SendChangeCode(ctx, p.UserID); err != nil {
		return nil, err
	}
	return userapi.PasswordCodeSend202JSONResponse{ExpiresIn: int(auth.CodeTTL.Seconds())}, nil
}

// PasswordChange sets a new password; the user's other sessions end.
func (h *Handler) PasswordChange(ctx context.Context, req userapi.PasswordChangeRequestObject) (userapi.PasswordChangeResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	if err := h.Auth.ChangePassword(ctx, p.UserID, p.SessionID, str(b.OldPassword), str(b.EmailCode), b.NewPassword); err != nil {
		return nil, err
	}
	return userapi.PasswordChange204Response{}, nil
}

// SessionList lists the user's sessions, marking the current one.
func (h *Handler) SessionList(ctx context.Context, _ userapi.SessionListRequestObject) (userapi.SessionListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.Auth.ListSessions(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return userapi.SessionList200JSONResponse(wire.Sessions(list, p.SessionID)), nil
}

// SessionDelete ends one of the user's sessions.
func (h *Handler) SessionDelete(ctx context.Context, req userapi.SessionDeleteRequestObject) (userapi.SessionDeleteResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Auth.EndSession(ctx, p.UserID, req.Id); err != nil {
		return nil, err
	}
	return userapi.SessionDelete204Response{}, nil
}

// TotpSetup makes a new TOTP secret (in effect once enabled).
func (h *Handler) TotpSetup(ctx context.Context, _ userapi.TotpSetupRequestObject) (userapi.TotpSetupResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	secret, url, err := h.Auth.TOTPSetup(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return userapi.TotpSetup200JSONResponse{Secret: secret, OtpauthUrl: url}, nil
}

// TotpEnable turns TOTP on with a first code.
func (h *Handler) TotpEnable(ctx context.Context, req userapi.TotpEnableRequestObject) (userapi.TotpEnableResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Auth.TOTPEnable(ctx, p.UserID, req.Body.Code); err != nil {
		return nil, err
	}
	return userapi.TotpEnable204Response{}, nil
}

// TotpDisable turns TOTP off with a current code.
func (h *Handler) TotpDisable(ctx context.Context, req userapi.TotpDisableRequestObject) (userapi.TotpDisableResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Auth.TOTPDisable(ctx, p.UserID, req.Body.Code); err != nil {
		return nil, err
	}
	return userapi.TotpDisable204Response{}, nil
}

// IdentityBindUrlCreate makes a one-time link binding a provider's identity to the user.
func (h *Handler) IdentityBindUrlCreate(ctx context.Context, req userapi.IdentityBindUrlCreateRequestObject) (userapi.IdentityBindUrlCreateResponseObject, error) { //nolint:revive // generated name
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	url, err := h.SSO.BindURL(ctx, p.UserID, req.Body.Provider)
	if err != nil {
		return nil, err
	}
	return userapi.IdentityBindUrlCreate200JSONResponse{Url: url}, nil
}

// str is a string parameter's value ("" when absent).
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
