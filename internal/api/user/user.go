// Package user implements the user contract: the signed-in user and their API keys.
package user

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/passkey"
	"github.com/poolgate/poolgate/internal/payment"
	"github.com/poolgate/poolgate/internal/quota"
	"github.com/poolgate/poolgate/internal/relay"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/sso"
	"github.com/poolgate/poolgate/internal/store"
)

// MaxKeysPerUser bounds the keys one user may hold.
const MaxKeysPerUser = 100

// Handler implements the user contract.
type Handler struct {
	Pool    *pgxpool.Pool
	Queries *db.Queries
	Bus     *bus.Bus
	// Auth changes passwords, TOTP and sessions; SSO makes binding links; Passkeys registers passkeys.
	Auth     *auth.Service
	SSO      *sso.Service
	Passkeys *passkey.Service
	// Accounts manages the accounts the user contributes.
	Accounts *accounts.Service
	// Limits and LimitRules answer /api/user/limits.
	Limits     *limits.Limiter
	LimitRules *limits.Rules
	// Quota answers /api/user/quotas.
	Quota *quota.Pool
	// Relay answers the catalog (the routing snapshot's models, prices and multipliers).
	Relay *relay.Relay
	// Settings holds the check-in configuration and the site's time zone.
	Settings *settings.Store
	// Payments opens top-up orders.
	Payments *payment.Service
}

var _ userapi.StrictServerInterface = (*Handler)(nil)

func me(ctx context.Context) (*auth.Principal, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return nil, fault.New(fault.Unauthorized, httpx.MsgUnauthorized)
	}
	return p, nil
}

const keyNotFound = "api key not found"

// MeGet returns the signed-in user with their live balance: the database's, less the charges not
// yet written and the reservations of calls in flight (on every instance when Redis is shared).
func (h *Handler) MeGet(ctx context.Context, _ userapi.MeGetRequestObject) (userapi.MeGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	out := wire.User(u)
	if h.Limits != nil {
		out.Balance = h.Limits.Available(ctx, limits.UserAccount(u.ID, u.Balance, u.UsedQuota))
	}
	return userapi.MeGet200JSONResponse(out), nil
}

// ApiKeyList lists the user's keys.
func (h *Handler) ApiKeyList(ctx context.Context, _ userapi.ApiKeyListRequestObject) (userapi.ApiKeyListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := h.Queries.APIKeyListByUser(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, err
	}
	out := userapi.ApiKeyList200JSONResponse{Items: make([]userapi.ApiKey, 0, len(rows))}
	for _, k := range rows {
		out.Items = append(out.Items, apiKey(k))
	}
	return out, nil
}

// ApiKeyCreate makes a key and shows its secret once.
func (h *Handler) ApiKeyCreate(ctx context.Context, req userapi.ApiKeyCreateRequestObject) (userapi.ApiKeyCreateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	key := auth.NewKey()
	params := db.APIKeyCreateParams{UserID: p.UserID, Name: req.Body.Name, KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)}
	if err := createRestrictions(&params, req.Body); err != nil {
		return nil, err
	}
	var k *db.APIKey
	// The user row is locked so concurrent creates cannot pass the limit together.
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if err := h.Queries.UserLock(ctx, tx, p.UserID); err != nil {
			return err
		}
		n, err := h.Queries.APIKeyCountByUser(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if n >= MaxKeysPerUser {
			return fault.New(fault.Conflict, "a user may hold at most 100 API keys")
		}
		k, err = h.Queries.APIKeyCreate(ctx, tx, params)
		return err
	})
	if err != nil {
		return nil, err
	}
	return userapi.ApiKeyCreate201JSONResponse(secret(k, key)), nil
}

// ApiKeyUpdate renames, disables or enables a key.
func (h *Handler) ApiKeyUpdate(ctx context.Context, req userapi.ApiKeyUpdateRequestObject) (userapi.ApiKeyUpdateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	var status *string
	if req.Body.Status != nil {
		s := string(*req.Body.Status)
		status = &s
	}
	params := db.APIKeyUpdateParams{ID: req.Id, UserID: p.UserID, Name: req.Body.Name, Status: status}
	if err := updateRestrictions(&params, req.Body); err != nil {
		return nil, err
	}
	k, err := h.Queries.APIKeyUpdate(ctx, h.Pool, params)
	if err != nil {
		return nil, store.Translate(err, keyNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicKey, strconv.FormatInt(k.ID, 10))
	return userapi.ApiKeyUpdate200JSONResponse(apiKey(k)), nil
}

// ApiKeyDelete deletes a key; every instance stops accepting it.
func (h *Handler) ApiKeyDelete(ctx context.Context, req userapi.ApiKeyDeleteRequestObject) (userapi.ApiKeyDeleteResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	n, err := h.Queries.APIKeyDelete(ctx, h.Pool, db.APIKeyDeleteParams{ID: req.Id, UserID: p.UserID})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, keyNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicKey, strconv.FormatInt(req.Id, 10))
	return userapi.ApiKeyDelete204Response{}, nil
}

// ApiKeyRotate gives a key a new secret; the old one stops working at once.
func (h *Handler) ApiKeyRotate(ctx context.Context, req userapi.ApiKeyRotateRequestObject) (userapi.ApiKeyRotateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	key := auth.NewKey()
	k, err := h.Queries.APIKeyRotate(ctx, h.Pool, db.APIKeyRotateParams{
		ID: req.Body.Id, UserID: p.UserID, KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)})
	if err != nil {
		return nil, store.Translate(err, keyNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicKey, strconv.FormatInt(k.ID, 10))
	return userapi.ApiKeyRotate200JSONResponse(secret(k, key)), nil
}
