package seed001

import (
	"context"
	"fmt"

	"github.com/poolgate/poolgate/gen/api/seed001"
	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	authn "github.com/poolgate/poolgate/internal/auth"
)

// SeedApiKeyList lists the user's API keys, newest first.
func (h *Handler) SeedApiKeyList(ctx context.Context, _ seed001api.SeedApiKeyListRequestObject) (seed001api.SeedApiKeyListResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := h.Queries.APIKeyListByUser(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make(seed001api.SeedApiKeyList200JSONResponse, 0, len(rows))
	for _, k := range rows {
		out = append(out, keyOut(k))
	}
	return out, nil
}

// SeedApiKeyCreate creates an API key through the user contract's handler (its limit and
// transaction) and shows its secret once.
func (h *Handler) SeedApiKeyCreate(ctx context.Context, req seed001api.SeedApiKeyCreateRequestObject) (seed001api.SeedApiKeyCreateResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := h.User.ApiKeyCreate(ctx, userapi.ApiKeyCreateRequestObject{Body: &userapi.ApiKeyCreateRequest{
		Name: req.Body.Name, Description: req.Body.Description}})
	if err != nil {
		return nil, err
	}
	s, ok := res.(userapi.ApiKeyCreate201JSONResponse)
	if !ok {
		return nil, fmt.Errorf("api key create answered %T", res)
	}
	k := keyOut(&db.APIKey{ID: s.Id, UserID: p.UserID, Name: s.Name, KeyHint: s.KeyHint, Status: authn.StatusActive,
		CreatedAt: s.CreatedAt, Description: deref(req.Body.Description)})
	return seed001api.SeedApiKeyCreate200JSONResponse{Id: k.Id, UserId: k.UserId, Key: s.Key, KeyPreview: k.KeyPreview,
		Name: k.Name, Description: k.Description, IsActive: k.IsActive, CreatedAt: k.CreatedAt}, nil
}

// SeedApiKeyDelete deletes one of the user's API keys through the user contract's handler
// (every instance stops accepting it).
func (h *Handler) SeedApiKeyDelete(ctx context.Context, req seed001api.SeedApiKeyDeleteRequestObject) (seed001api.SeedApiKeyDeleteResponseObject, error) {
	if _, err := h.User.ApiKeyDelete(ctx, userapi.ApiKeyDeleteRequestObject{Id: req.KeyId}); err != nil {
		return nil, err
	}
	return seed001api.SeedApiKeyDelete200JSONResponse{Success: true, Message: "API key deleted"}, nil
}

func keyOut(k *db.APIKey) seed001api.ApiKey {
	out := seed001api.ApiKey{Id: k.ID, UserId: k.UserID, KeyPreview: k.KeyHint, Name: k.Name, IsActive: k.Status == authn.StatusActive,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt}
	if k.Description != "" {
		d := k.Description
		out.Description = &d
	}
	return out
}
