package user

import (
	"context"
	"strconv"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/wallet"
)

// RedeemCreate redeems a code for the signed-in user; the gateway's cached balance of the user
// is dropped on every instance.
func (h *Handler) RedeemCreate(ctx context.Context, req userapi.RedeemCreateRequestObject) (userapi.RedeemCreateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	r, err := wallet.Redeem(ctx, h.Pool, h.Queries, p.UserID, req.Body.Code)
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(p.UserID, 10))
	return userapi.RedeemCreate200JSONResponse{Quota: r.Quota, Balance: r.Balance}, nil
}
