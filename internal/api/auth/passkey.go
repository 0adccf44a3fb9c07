package auth

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/auth"
	authn "github.com/poolgate/poolgate/internal/auth"
)

// PasskeyLoginOptions begins a passkey sign-in (no user named).
func (h *Handler) PasskeyLoginOptions(ctx context.Context, _ authapi.PasskeyLoginOptionsRequestObject) (authapi.PasskeyLoginOptionsResponseObject, error) {
	opts, err := h.Passkeys.LoginOptions(ctx)
	if err != nil {
		return nil, err
	}
	return authapi.PasskeyLoginOptions200JSONResponse(opts), nil
}

// PasskeyLogin finishes a passkey sign-in and answers like a password sign-in.
func (h *Handler) PasskeyLogin(ctx context.Context, req authapi.PasskeyLoginRequestObject) (authapi.PasskeyLoginResponseObject, error) {
	u, err := h.Passkeys.Login(ctx, *req.Body)
	if err != nil {
		return nil, err
	}
	res, err := h.signIn(ctx, u, authn.MethodPasskey)
	if err != nil {
		return nil, err
	}
	return authapi.PasskeyLogin200JSONResponse{SignedInJSONResponse: res}, nil
}
