package seed001

import (
	"context"
	"strconv"
	"time"

	"github.com/poolgate/poolgate/gen/api/seed001"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/pool"
)

// SeedHealthGet answers the public contract's health check.
func (h *Handler) SeedHealthGet(ctx context.Context, _ seed001api.SeedHealthGetRequestObject) (seed001api.SeedHealthGetResponseObject, error) {
	st, ok := h.Public.Health(ctx)
	out := seed001api.Health{Status: seed001api.HealthStatus(st.Status), Database: seed001api.HealthDatabase(st.Database),
		Redis: seed001api.HealthRedis(st.Redis), Version: st.Version}
	if !ok {
		return seed001api.SeedHealthGet503JSONResponse(out), nil
	}
	return seed001api.SeedHealthGet200JSONResponse(out), nil
}

// SeedAccountList lists the accounts the user contributed, in seed 001's shape.
func (h *Handler) SeedAccountList(ctx context.Context, _ seed001api.SeedAccountListRequestObject) (seed001api.SeedAccountListResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.Accounts.List(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := seed001api.SeedAccountList200JSONResponse{Success: true, Data: make([]seed001api.Account, 0, len(list))}
	for _, a := range list {
		out.Data = append(out.Data, accountOut(&a))
	}
	return out, nil
}

func accountOut(a *accounts.Account) seed001api.Account {
	out := seed001api.Account{CookieId: strconv.FormatInt(a.ID, 10), Name: a.Nickname, Provider: a.Provider,
		State: seed001api.AccountState(a.State), Status: seed001api.AccountStatusN0, IsShared: seed001api.AccountIsSharedN0,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if a.State == pool.StatusActive || a.State == "cooling" {
		out.Status = seed001api.AccountStatusN1
	}
	if a.Shared {
		out.IsShared = seed001api.AccountIsSharedN1
	}
	return out
}

// SeedOauthAuthorize starts onboarding an OAuth account the user contributes (dedicated, or
// shared with is_shared 1), as the user contract's authorize does: the provider redirects to
// /api/user/accounts/oauth/callback, or shows a code to paste at /api/user/accounts/oauth/exchange.
func (h *Handler) SeedOauthAuthorize(ctx context.Context, req seed001api.SeedOauthAuthorizeRequestObject) (seed001api.SeedOauthAuthorizeResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	in := accounts.OAuthStart{User: p.UserID, Provider: "gemini"}
	if b := req.Body; b != nil {
		if b.Provider != nil {
			in.Provider = *b.Provider
		}
		in.Shared = b.IsShared != nil && *b.IsShared == seed001api.OAuthAuthorizeRequestIsSharedN1
		in.Nickname = deref(b.Nickname)
	}
	a, err := h.Accounts.OAuthAuthorize(ctx, in)
	if err != nil {
		return nil, err
	}
	out := seed001api.SeedOauthAuthorize200JSONResponse{Success: true}
	out.Data.AuthUrl, out.Data.State, out.Data.ExpiresIn = a.URL, a.State, int(a.ExpiresIn/time.Second)
	return out, nil
}

// SeedQuotaList answers the user's shared quota per model family, in seed 001's shape.
func (h *Handler) SeedQuotaList(ctx context.Context, _ seed001api.SeedQuotaListRequestObject) (seed001api.SeedQuotaListResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	sts, err := h.Quota.StatusOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	uid := strconv.FormatInt(p.UserID, 10)
	out := seed001api.SeedQuotaList200JSONResponse{Success: true, Data: make([]seed001api.QuotaItem, 0, len(sts))}
	for _, s := range sts {
		full := now.Add(s.FullIn).Truncate(time.Second)
		if s.FullIn%time.Second != 0 {
			full = full.Add(time.Second)
		}
		out.Data = append(out.Data, seed001api.QuotaItem{PoolId: uid + ":" + s.Family, UserId: uid, ModelName: s.Family,
			Quota: strconv.FormatInt(s.Remaining, 10), MaxQuota: strconv.FormatInt(s.Cap, 10),
			LastRecoveredAt: full, LastUpdatedAt: now})
	}
	return out, nil
}

// SeedChatCompletionCreate is served by Server (the gateway's handler, the body relayed raw).
func (h *Handler) SeedChatCompletionCreate(context.Context, seed001api.SeedChatCompletionCreateRequestObject) (seed001api.SeedChatCompletionCreateResponseObject, error) {
	return nil, errServedRaw
}

// SeedModelList is served by Server (the gateway's handler).
func (h *Handler) SeedModelList(context.Context, seed001api.SeedModelListRequestObject) (seed001api.SeedModelListResponseObject, error) {
	return nil, errServedRaw
}
