package admin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/store"
)

// accountStatus is the status shown for an account: an active one cooling down shows cooling.
func accountStatus(a *db.Account) adminapi.AccountStatus {
	if a.Status == pool.StatusActive && a.CoolingUntil != nil && a.CoolingUntil.After(time.Now()) {
		return adminapi.AccountStatusCooling
	}
	return adminapi.AccountStatus(a.Status)
}

// limitsOut converts the limits column (a JSON object of strings) to the wire map.
func limitsOut(raw []byte) adminapi.AccountLimits {
	out := adminapi.AccountLimits{}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out) // the column only ever holds what limitsIn wrote
	}
	return out
}

// limitsIn validates wire limits and encodes them for the limits column (nil when absent).
func limitsIn(l *adminapi.AccountLimits) ([]byte, error) {
	if l == nil {
		return nil, nil
	}
	for model, v := range *l {
		if _, err := pool.ParseLimit(v); err != nil {
			return nil, fault.New(fault.Invalid, "limits."+model+": "+err.Error())
		}
	}
	return json.Marshal(*l)
}

// accountCreateParams turns one create body into query parameters.
func (h *Handler) accountCreateParams(ctx context.Context, channel int64, b *adminapi.AccountCreate) (db.AccountCreateParams, error) {
	p := db.AccountCreateParams{ChannelID: channel, CredentialEnc: h.Box.Seal(b.Credential),
		CredentialTail: secretbox.Tail(b.Credential), Weight: defaultWeight, Status: string(adminapi.ActiveStatusActive),
		Nickname: b.Nickname, OwnerUserID: wire.Ptr(b.OwnerUserId)}
	if b.Name != nil {
		p.Name = *b.Name
	}
	if b.Weight != nil {
		w, err := int32Of("weight", *b.Weight)
		if err != nil {
			return p, err
		}
		p.Weight = w
	}
	if b.Status != nil {
		p.Status = string(*b.Status)
	}
	if b.Tier != nil {
		t := string(*b.Tier)
		p.Tier = &t
	}
	var err error
	if p.ProxyURL, err = h.proxyIn(ctx, b.ProxyUrl); err != nil {
		return p, err
	}
	if p.MaxConcurrency, err = int32Ptr("max_concurrency", b.MaxConcurrency); err != nil {
		return p, err
	}
	if p.Limits, err = limitsIn(b.Limits); err != nil {
		return p, err
	}
	return p, nil
}

// translateAccountWrite reports a missing owner or channel (foreign key) as not found.
func translateAccountWrite(err error) error {
	if store.IsNotFound(err) {
		return fault.New(fault.NotFound, "the channel or the owner user does not exist")
	}
	return err
}

// AccountImport adds many accounts to a channel in one transaction.
func (h *Handler) AccountImport(ctx context.Context, req adminapi.AccountImportRequestObject) (adminapi.AccountImportResponseObject, error) {
	params := make([]db.AccountCreateParams, 0, len(req.Body.Accounts))
	for i := range req.Body.Accounts {
		p, err := h.accountCreateParams(ctx, req.Id, &req.Body.Accounts[i])
		if err != nil {
			return nil, err
		}
		params = append(params, p)
	}
	out := adminapi.AccountImport201JSONResponse{Items: make([]adminapi.Account, 0, len(params))}
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if err := h.channelExists(ctx, tx, req.Id); err != nil {
			return err
		}
		for _, p := range params {
			a, err := h.Queries.AccountCreate(ctx, tx, p)
			if err != nil {
				return translateAccountWrite(err)
			}
			out.Items = append(out.Items, accountOut(a))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Created = len(out.Items)
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return out, nil
}

// AccountReset puts an account back in rotation: active, no cooldown anywhere, no failures.
func (h *Handler) AccountReset(ctx context.Context, req adminapi.AccountResetRequestObject) (adminapi.AccountResetResponseObject, error) {
	a, err := h.Queries.AccountReset(ctx, h.Pool, db.AccountResetParams{ID: req.AccountId, ChannelID: req.Id})
	if err != nil {
		if err := h.channelExists(ctx, h.Pool, req.Id); err != nil {
			return nil, err
		}
		return nil, store.Translate(err, accountNotFound)
	}
	if err := h.Accounts.Reset(ctx, a.ID); err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.AccountReset200JSONResponse(accountOut(a)), nil
}

// tierPtr converts an optional wire tier to its column value.
func tierPtr(t *adminapi.Tier) *string {
	if t == nil {
		return nil
	}
	s := string(*t)
	return &s
}
