package admin

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/store"
)

const accountNotFound = "account not found"

// AccountList lists the accounts of a channel, by id; credentials never leave.
func (h *Handler) AccountList(ctx context.Context, req adminapi.AccountListRequestObject) (adminapi.AccountListResponseObject, error) {
	if err := h.channelExists(ctx, h.Pool, req.Id); err != nil {
		return nil, err
	}
	rows, err := h.Queries.AccountListByChannel(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	out := adminapi.AccountList200JSONResponse{Items: make([]adminapi.Account, 0, len(rows))}
	for _, a := range rows {
		out.Items = append(out.Items, accountOut(a))
	}
	return out, nil
}

// AccountCreate adds an account to a channel, its credential sealed at rest, and reroutes.
func (h *Handler) AccountCreate(ctx context.Context, req adminapi.AccountCreateRequestObject) (adminapi.AccountCreateResponseObject, error) {
	p, err := h.accountCreateParams(ctx, req.Id, req.Body)
	if err != nil {
		return nil, err
	}
	var a *db.Account
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if err := h.channelExists(ctx, tx, req.Id); err != nil {
			return err
		}
		var err error
		a, err = h.Queries.AccountCreate(ctx, tx, p)
		return translateAccountWrite(err)
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.AccountCreate201JSONResponse(accountOut(a)), nil
}

// AccountUpdate changes the fields present of an account of the channel; a new credential
// replaces the sealed one. It reroutes.
func (h *Handler) AccountUpdate(ctx context.Context, req adminapi.AccountUpdateRequestObject) (adminapi.AccountUpdateResponseObject, error) {
	b := req.Body
	p := db.AccountUpdateParams{ID: req.AccountId, ChannelID: req.Id, Name: b.Name, Status: statusPtr(b.Status),
		Nickname: b.Nickname, Tier: tierPtr(b.Tier)}
	if b.OwnerUserId != nil {
		p.SetOwner = true
		if *b.OwnerUserId != 0 {
			p.OwnerUserID = b.OwnerUserId
		}
	}
	if b.Credential != nil {
		tail := secretbox.Tail(*b.Credential)
		p.CredentialEnc, p.CredentialTail = h.Box.Seal(*b.Credential), &tail
	}
	var err error
	if p.ProxyURL, err = h.proxyIn(ctx, b.ProxyUrl); err != nil {
		return nil, err
	}
	if p.Weight, err = int32Ptr("weight", b.Weight); err != nil {
		return nil, err
	}
	if p.MaxConcurrency, err = int32Ptr("max_concurrency", b.MaxConcurrency); err != nil {
		return nil, err
	}
	if p.Limits, err = limitsIn(b.Limits); err != nil {
		return nil, err
	}
	var a *db.Account
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if err := h.channelExists(ctx, tx, req.Id); err != nil {
			return err
		}
		var err error
		a, err = h.Queries.AccountUpdate(ctx, tx, p)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.New(fault.NotFound, accountNotFound)
		}
		if err != nil || b.ApiKeyId == nil {
			return translateAccountWrite(err) // an owner that does not exist
		}
		a, err = h.bindKey(ctx, tx, a, *b.ApiKeyId)
		return err
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.AccountUpdate200JSONResponse(accountOut(a)), nil
}

// AccountDelete removes an account of the channel and reroutes.
func (h *Handler) AccountDelete(ctx context.Context, req adminapi.AccountDeleteRequestObject) (adminapi.AccountDeleteResponseObject, error) {
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if err := h.channelExists(ctx, tx, req.Id); err != nil {
			return err
		}
		n, err := h.Queries.AccountDelete(ctx, tx, db.AccountDeleteParams{ID: req.AccountId, ChannelID: req.Id})
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.NotFound, accountNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.AccountDelete204Response{}, nil
}

// channelExists answers "channel not found" for an unknown channel, so account routes tell a
// missing channel from a missing (or foreign) account.
func (h *Handler) channelExists(ctx context.Context, tx db.DBTX, id int64) error {
	_, err := h.Queries.ChannelGet(ctx, tx, id)
	return store.Translate(err, channelNotFound)
}

// bindKey binds an account to an API key (0 unbinds it); the key's owner becomes the account's.
func (h *Handler) bindKey(ctx context.Context, tx pgx.Tx, a *db.Account, key int64) (*db.Account, error) {
	var k *int64
	if key != 0 {
		k = &key
	}
	b, err := h.Queries.AccountBindKey(ctx, tx, db.AccountBindKeyParams{ID: a.ID, ChannelID: a.ChannelID, APIKeyID: k})
	if err != nil {
		if err = store.Translate(err, accountNotFound); fault.Is(err, fault.NotFound) {
			return nil, fault.New(fault.NotFound, "api key not found")
		}
		return nil, err
	}
	return b, nil
}
