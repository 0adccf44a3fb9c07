package user

import (
	"context"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
)

func passkeyOut(r *db.Passkey) userapi.Passkey {
	return userapi.Passkey{Id: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), LastUsedAt: wire.Null(r.LastUsedAt)}
}

// PasskeyList lists the user's passkeys.
func (h *Handler) PasskeyList(ctx context.Context, _ userapi.PasskeyListRequestObject) (userapi.PasskeyListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := h.Passkeys.List(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := userapi.PasskeyList200JSONResponse{Items: make([]userapi.Passkey, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, passkeyOut(r))
	}
	return out, nil
}

// PasskeyRegisterOptions begins registering a passkey.
func (h *Handler) PasskeyRegisterOptions(ctx context.Context, _ userapi.PasskeyRegisterOptionsRequestObject) (userapi.PasskeyRegisterOptionsResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := h.Passkeys.RegisterOptions(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return userapi.PasskeyRegisterOptions200JSONResponse(opts), nil
}

// PasskeyRegisterFinish stores the new passkey.
func (h *Handler) PasskeyRegisterFinish(ctx context.Context, req userapi.PasskeyRegisterFinishRequestObject) (userapi.PasskeyRegisterFinishResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	row, err := h.Passkeys.RegisterFinish(ctx, p.UserID, str(req.Params.Name), *req.Body)
	if err != nil {
		return nil, err
	}
	return userapi.PasskeyRegisterFinish201JSONResponse(passkeyOut(row)), nil
}

// PasskeyDelete removes a passkey.
func (h *Handler) PasskeyDelete(ctx context.Context, req userapi.PasskeyDeleteRequestObject) (userapi.PasskeyDeleteResponseObject, error) {
	p, err := session(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Passkeys.Delete(ctx, p.UserID, req.Id); err != nil {
		return nil, err
	}
	return userapi.PasskeyDelete204Response{}, nil
}
