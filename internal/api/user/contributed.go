package user

import (
	"context"
	"time"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/accounts"
)

// ContributedAccountList lists the accounts the user contributed and the offered providers.
func (h *Handler) ContributedAccountList(ctx context.Context, _ userapi.ContributedAccountListRequestObject) (userapi.ContributedAccountListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.Accounts.List(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := userapi.ContributedAccountList200JSONResponse{Items: make([]userapi.ContributedAccount, 0, len(list)),
		Providers: h.Accounts.Providers()}
	for i := range list {
		out.Items = append(out.Items, contributedOut(&list[i]))
	}
	return out, nil
}

// ContributedAccountCreate checks a credential upstream and adds the account.
func (h *Handler) ContributedAccountCreate(ctx context.Context, req userapi.ContributedAccountCreateRequestObject) (userapi.ContributedAccountCreateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := accounts.Input{Provider: b.Provider, Credential: b.Credential}
	if b.ProxyUrl != nil {
		in.Proxy = *b.ProxyUrl
	}
	if b.Nickname != nil {
		in.Nickname = *b.Nickname
	}
	if b.Shared != nil {
		in.Shared = *b.Shared
	}
	a, err := h.Accounts.Create(ctx, p.UserID, in)
	if err != nil {
		return nil, err
	}
	return userapi.ContributedAccountCreate201JSONResponse(contributedOut(a)), nil
}

// ContributedAccountUpdate changes one of the user's contributed accounts.
func (h *Handler) ContributedAccountUpdate(ctx context.Context, req userapi.ContributedAccountUpdateRequestObject) (userapi.ContributedAccountUpdateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	a, err := h.Accounts.Update(ctx, p.UserID, req.AccountId, accounts.Change{Credential: b.Credential,
		Nickname: b.Nickname, Shared: b.Shared, Proxy: b.ProxyUrl})
	if err != nil {
		return nil, err
	}
	return userapi.ContributedAccountUpdate200JSONResponse(contributedOut(a)), nil
}

// ContributedAccountDelete removes one of the user's contributed accounts.
func (h *Handler) ContributedAccountDelete(ctx context.Context, req userapi.ContributedAccountDeleteRequestObject) (userapi.ContributedAccountDeleteResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Accounts.Delete(ctx, p.UserID, req.AccountId); err != nil {
		return nil, err
	}
	return userapi.ContributedAccountDelete204Response{}, nil
}

// PreferencesGet reads the user's account priority.
func (h *Handler) PreferencesGet(ctx context.Context, _ userapi.PreferencesGetRequestObject) (userapi.PreferencesGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.Accounts.Priority(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return userapi.PreferencesGet200JSONResponse{AccountPriority: userapi.AccountPriority(v)}, nil
}

// PreferencesUpdate sets the user's account priority.
func (h *Handler) PreferencesUpdate(ctx context.Context, req userapi.PreferencesUpdateRequestObject) (userapi.PreferencesUpdateResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	v, err := h.Accounts.SetPriority(ctx, p.UserID, string(req.Body.AccountPriority))
	if err != nil {
		return nil, err
	}
	return userapi.PreferencesUpdate200JSONResponse{AccountPriority: userapi.AccountPriority(v)}, nil
}

func contributedOut(a *accounts.Account) userapi.ContributedAccount {
	out := userapi.ContributedAccount{Id: a.ID, Provider: a.Provider, Nickname: a.Nickname, Shared: a.Shared,
		CredentialTail: a.CredentialTail, State: userapi.ContributedAccountState(a.State), StateReason: a.StateReason,
		UsageByOthers: userapi.AccountUsage{Calls: a.UsageByOthers.Calls, Tokens: a.UsageByOthers.Tokens, Quota: a.UsageByOthers.Quota},
		CreatedAt:     a.CreatedAt, UpdatedAt: a.UpdatedAt, ProxyUrl: &a.Proxy}
	if a.ClearsIn != nil {
		s := int64((*a.ClearsIn + time.Second - 1) / time.Second) // round up: never "0 s" while cooling
		out.ClearsIn = &s
	}
	return out
}
