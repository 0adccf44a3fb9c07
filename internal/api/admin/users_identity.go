package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/store"
)

// UserCreate creates a user with a password.
func (h *Handler) UserCreate(ctx context.Context, req adminapi.UserCreateRequestObject) (adminapi.UserCreateResponseObject, error) {
	b := req.Body
	n := auth.NewUser{Username: b.Username, Password: b.Password, Balance: h.Settings.Get().NewUserBalance}
	if b.Email != nil {
		e := string(*b.Email)
		n.Email = &e
	}
	if b.Role != nil {
		n.Role = string(*b.Role)
	}
	if b.Status != nil {
		n.Status = string(*b.Status)
	}
	if b.Balance != nil {
		n.Balance = *b.Balance
	}
	if b.TrustLevel != nil {
		n.TrustLevel = int16(*b.TrustLevel) //nolint:gosec // 0–4 by the schema
	}
	u, err := h.Auth.CreateUser(ctx, h.Pool, n)
	if err != nil {
		return nil, err
	}
	return adminapi.UserCreate201JSONResponse(wire.User(u)), nil
}

// identityUpdate adds the identity fields of a user update: e-mail address ("" removes it) and
// trust level.
func identityUpdate(p *db.UserUpdateParams, b *adminapi.UserUpdateJSONRequestBody) {
	if b.TrustLevel != nil {
		lvl := int16(*b.TrustLevel) //nolint:gosec // 0–4 by the schema
		p.TrustLevel = &lvl
	}
	if b.Email != nil {
		p.SetEmail = true
		if *b.Email != "" {
			p.Email = b.Email
		}
	}
}

// afterUserUpdate applies what a user update changes beyond the row: a new password, and the
// end of every session of a disabled user or one whose password was set, on every instance.
func (h *Handler) afterUserUpdate(ctx context.Context, u *db.User, b *adminapi.UserUpdateJSONRequestBody) error {
	if b.Password != nil {
		// SetPassword ends the user's sessions; an administrator setting their own keeps the
		// session making the change.
		keep := ""
		if me := auth.PrincipalFrom(ctx); me != nil && me.UserID == u.ID {
			keep = me.SessionID
		}
		return h.Auth.SetPassword(ctx, u.ID, *b.Password, keep)
	}
	if u.Status == auth.StatusDisabled {
		return h.Auth.EndSessions(ctx, u.ID, "")
	}
	return nil
}

// UserSessionList lists a user's live sessions (never their secrets).
func (h *Handler) UserSessionList(ctx context.Context, req adminapi.UserSessionListRequestObject) (adminapi.UserSessionListResponseObject, error) {
	if err := h.userExists(ctx, req.Id); err != nil {
		return nil, err
	}
	list, err := h.Auth.ListSessions(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	current := ""
	if me := auth.PrincipalFrom(ctx); me != nil && me.UserID == req.Id {
		current = me.SessionID
	}
	return adminapi.UserSessionList200JSONResponse(wire.Sessions(list, current)), nil
}

// UserSessionDelete ends one session of a user, on every instance.
func (h *Handler) UserSessionDelete(ctx context.Context, req adminapi.UserSessionDeleteRequestObject) (adminapi.UserSessionDeleteResponseObject, error) {
	if err := h.userExists(ctx, req.Id); err != nil {
		return nil, err
	}
	if err := h.Auth.EndSession(ctx, req.Id, req.SessionId); err != nil {
		return nil, err
	}
	return adminapi.UserSessionDelete204Response{}, nil
}

// UserSessionDeleteAll ends every session of a user on every instance; an administrator ending
// their own keeps the session making the call.
func (h *Handler) UserSessionDeleteAll(ctx context.Context, req adminapi.UserSessionDeleteAllRequestObject) (adminapi.UserSessionDeleteAllResponseObject, error) {
	if err := h.userExists(ctx, req.Id); err != nil {
		return nil, err
	}
	keep := ""
	if me := auth.PrincipalFrom(ctx); me != nil && me.UserID == req.Id {
		keep = me.SessionID
	}
	if err := h.Auth.EndSessions(ctx, req.Id, keep); err != nil {
		return nil, err
	}
	return adminapi.UserSessionDeleteAll204Response{}, nil
}

// userExists answers not found for an unknown user id.
func (h *Handler) userExists(ctx context.Context, id int64) error {
	if _, err := h.Queries.UserGet(ctx, h.Pool, id); err != nil {
		return store.Translate(err, userNotFound)
	}
	return nil
}
