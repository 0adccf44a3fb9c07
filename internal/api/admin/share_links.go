package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/store"
)

const shareNotFound = "share link not found"

// ShareLinkList lists every share link.
func (h *Handler) ShareLinkList(ctx context.Context, _ adminapi.ShareLinkListRequestObject) (adminapi.ShareLinkListResponseObject, error) {
	rows, err := h.Queries.ShareLinkList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	out := adminapi.ShareLinkList{Items: make([]adminapi.ShareLink, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, shareLinkOut(r))
	}
	return adminapi.ShareLinkList200JSONResponse(out), nil
}

// ShareLinkCreate creates a share link and the hidden API key its calls are charged through.
func (h *Handler) ShareLinkCreate(ctx context.Context, req adminapi.ShareLinkCreateRequestObject) (adminapi.ShareLinkCreateResponseObject, error) {
	b := req.Body
	host := ""
	if b.AuthHost != nil {
		host = *b.AuthHost
	}
	if err := h.Hooks.CheckURL(ctx, host); err != nil {
		return nil, err
	}
	models := []string{}
	if b.Models != nil {
		models = *b.Models
	}
	id := newShareID()
	key := auth.NewKey()
	var link *db.ShareLink
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := h.Queries.UserGet(ctx, tx, b.UserId); err != nil {
			return store.Translate(err, "user not found")
		}
		k, err := h.Queries.APIKeyCreate(ctx, tx, db.APIKeyCreateParams{UserID: b.UserId, Name: "share:" + id,
			KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)})
		if err != nil {
			return err
		}
		link, err = h.Queries.ShareLinkCreate(ctx, tx, db.ShareLinkCreateParams{ID: id, Name: b.Name, UserID: b.UserId,
			APIKeyID: k.ID, KeyEnc: h.Box.Seal(key), Models: models, AuthHost: host, QuotaLimit: wire.Ptr(b.QuotaLimit),
			RequestLimit: wire.Ptr(b.RequestLimit), Status: string(adminapi.ActiveStatusActive), ExpiresAt: wire.Ptr(b.ExpiresAt)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return adminapi.ShareLinkCreate201JSONResponse(shareLinkOut(link)), nil
}

// ShareLinkGet reads a share link.
func (h *Handler) ShareLinkGet(ctx context.Context, req adminapi.ShareLinkGetRequestObject) (adminapi.ShareLinkGetResponseObject, error) {
	l, err := h.Queries.ShareLinkGet(ctx, h.Pool, req.ShareId)
	if err != nil {
		return nil, store.Translate(err, shareNotFound)
	}
	return adminapi.ShareLinkGet200JSONResponse(shareLinkOut(l)), nil
}

// ShareLinkUpdate changes the fields present; every instance drops its cached copy.
func (h *Handler) ShareLinkUpdate(ctx context.Context, req adminapi.ShareLinkUpdateRequestObject) (adminapi.ShareLinkUpdateResponseObject, error) {
	b := req.Body
	if b.AuthHost != nil {
		if err := h.Hooks.CheckURL(ctx, *b.AuthHost); err != nil {
			return nil, err
		}
	}
	p := db.ShareLinkUpdateParams{ID: req.ShareId, Name: b.Name, AuthHost: b.AuthHost,
		SetExpiresAt: b.ExpiresAt != nil, ExpiresAt: b.ExpiresAt}
	if b.Models != nil {
		p.Models = *b.Models
	}
	if b.Status != nil {
		s := string(*b.Status)
		p.Status = &s
	}
	p.SetQuotaLimit, p.QuotaLimit = limitPatch(b.QuotaLimit)
	p.SetRequestLimit, p.RequestLimit = limitPatch(b.RequestLimit)
	l, err := h.Queries.ShareLinkUpdate(ctx, h.Pool, p)
	if err != nil {
		return nil, store.Translate(err, shareNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicShare, l.ID)
	return adminapi.ShareLinkUpdate200JSONResponse(shareLinkOut(l)), nil
}

// ShareLinkDelete deletes a share link and its hidden API key.
func (h *Handler) ShareLinkDelete(ctx context.Context, req adminapi.ShareLinkDeleteRequestObject) (adminapi.ShareLinkDeleteResponseObject, error) {
	l, err := h.Queries.ShareLinkGet(ctx, h.Pool, req.ShareId)
	if err != nil {
		return nil, store.Translate(err, shareNotFound)
	}
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := h.Queries.ShareLinkDelete(ctx, tx, l.ID); err != nil {
			return store.Translate(err, shareNotFound)
		}
		_, err := h.Queries.APIKeyDelete(ctx, tx, db.APIKeyDeleteParams{ID: l.APIKeyID, UserID: l.UserID})
		return err
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicShare, l.ID)
	h.Bus.Publish(ctx, bus.TopicKey, strconv.FormatInt(l.APIKeyID, 10))
	return adminapi.ShareLinkDelete204Response{}, nil
}

// limitPatch turns an update's limit (-1 removes it) into the query's set flag and value.
func limitPatch(v *int64) (bool, *int64) {
	switch {
	case v == nil:
		return false, nil
	case *v < 0:
		return true, nil
	default:
		return true, v
	}
}

func shareLinkOut(l *db.ShareLink) adminapi.ShareLink {
	models := l.Models
	if models == nil {
		models = []string{}
	}
	return adminapi.ShareLink{Id: l.ID, Name: l.Name, UserId: l.UserID, Models: models, AuthHost: l.AuthHost,
		QuotaLimit: wire.Null(l.QuotaLimit), RequestLimit: wire.Null(l.RequestLimit), UsedQuota: l.UsedQuota, RequestCount: l.RequestCount,
		Status: adminapi.ActiveStatus(l.Status), ExpiresAt: wire.Null(l.ExpiresAt), BaseUrl: "/share/" + l.ID + "/v1",
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

func newShareID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "sl_" + hex.EncodeToString(b)
}
