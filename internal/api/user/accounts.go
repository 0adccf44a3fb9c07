package user

import (
	"context"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// AccountKeyBind binds one of the user's dedicated accounts to one of their API keys (0 unbinds
// it) and reroutes every instance.
func (h *Handler) AccountKeyBind(ctx context.Context, req userapi.AccountKeyBindRequestObject) (userapi.AccountKeyBindResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	var key *int64
	if req.Body.ApiKeyId != 0 {
		key = &req.Body.ApiKeyId
	}
	row, err := h.Queries.AccountBindKeyByOwner(ctx, h.Pool, db.AccountBindKeyByOwnerParams{ID: req.AccountId,
		OwnerUserID: &p.UserID, APIKeyID: key})
	if err != nil {
		if store.IsNotFound(err) {
			return nil, fault.New(fault.NotFound, "no such account of yours, or no such key of yours")
		}
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return userapi.AccountKeyBind200JSONResponse{AccountId: row.ID, ApiKeyId: wire.Null(row.APIKeyID)}, nil
}
