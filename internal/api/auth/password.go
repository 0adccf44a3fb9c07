package auth

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/auth"
	authn "github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
)

// PasswordRegister creates a user and signs them in. With email_verification_required on, the
// e-mail address and a code sent to it for registration are required.
func (h *Handler) PasswordRegister(ctx context.Context, req authapi.PasswordRegisterRequestObject) (authapi.PasswordRegisterResponseObject, error) {
	s := h.Settings.Get()
	if !s.RegistrationEnabled {
		return nil, fault.New(fault.Forbidden, "registration is disabled")
	}
	if s.OIDCOnly {
		return nil, fault.Code(fault.Forbidden, "password_login_disabled", "registration is through single sign-on only")
	}
	b := req.Body
	var email *string
	if b.Email != nil {
		e := string(*b.Email)
		email = &e
	}
	if s.EmailVerificationRequired && (email == nil || b.EmailCode == nil) {
		return nil, fault.Code(fault.Invalid, "email_required", "registration needs an e-mail address and the code sent to it")
	}
	if b.EmailCode != nil {
		if email == nil {
			return nil, fault.Code(fault.Invalid, "email_required", "email_code needs the email it was sent to")
		}
		if err := h.Auth.UseCode(ctx, *email, authn.PurposeRegister, *b.EmailCode); err != nil {
			return nil, err
		}
	}
	n := authn.NewUser{Username: b.Username, Password: b.Password, Email: email, Balance: s.NewUserBalance}
	if b.Aff != nil {
		n.Aff = *b.Aff
	}
	u, err := h.Auth.CreateUser(ctx, h.Pool, n)
	if err != nil {
		return nil, err
	}
	res, err := h.signIn(ctx, u, authn.MethodRegister)
	if err != nil {
		return nil, err
	}
	return authapi.PasswordRegister200JSONResponse{SignedInJSONResponse: res}, nil
}

// PasswordLogin signs a user in with a password (and a TOTP code when the user turned it on).
func (h *Handler) PasswordLogin(ctx context.Context, req authapi.PasswordLoginRequestObject) (authapi.PasswordLoginResponseObject, error) {
	in := authn.Login{Username: req.Body.Username, Password: req.Body.Password}
	if req.Body.TotpCode != nil {
		in.TOTP = *req.Body.TotpCode
	}
	u, err := h.Auth.PasswordLogin(ctx, in)
	if err != nil {
		return nil, err
	}
	res, err := h.signIn(ctx, u, authn.MethodPassword)
	if err != nil {
		return nil, err
	}
	return authapi.PasswordLogin200JSONResponse{SignedInJSONResponse: res}, nil
}

// EmailCodeSend mails a one-time code when the address qualifies for the purpose, answering
// alike either way.
func (h *Handler) EmailCodeSend(ctx context.Context, req authapi.EmailCodeSendRequestObject) (authapi.EmailCodeSendResponseObject, error) {
	if err := h.Auth.SendCode(ctx, string(req.Body.Email), string(req.Body.Purpose)); err != nil {
		return nil, err
	}
	return authapi.EmailCodeSend202JSONResponse{ExpiresIn: int(authn.CodeTTL.Seconds())}, nil
}

// PasswordReset sets a new password with an e-mail code; the user's sessions end.
func (h *Handler) PasswordReset(ctx context.Context, req authapi.PasswordResetRequestObject) (authapi.PasswordResetResponseObject, error) {
	b := req.Body
	if err := h.Auth.ResetPassword(ctx, string(b.Email), b.EmailCode, b.NewPassword); err != nil {
		return nil, err
	}
	return authapi.PasswordReset204Response{}, nil
}
