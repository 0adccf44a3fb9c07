package user

import (
	"context"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/store"
)

// LimitUserList lists the limit rules that apply to the caller with their use now.
func (h *Handler) LimitUserList(ctx context.Context, _ userapi.LimitUserListRequestObject) (userapi.LimitUserListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, p.UserID)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	who := limits.Who{User: p.UserID}
	if u.GroupID != nil {
		who.Group = *u.GroupID
	}
	if p.Via == auth.ViaAPIKey {
		who.Key = p.KeyID
	}
	cs := limits.Applying(h.LimitRules.Get(), who)
	out := userapi.LimitUserList200JSONResponse{Items: make([]userapi.UserLimit, 0, len(cs))}
	var used []limits.Usage
	if h.Limits != nil {
		used = h.Limits.Status(ctx, cs)
	}
	for i, c := range cs {
		r := c.Rule
		var n limits.Usage
		if i < len(used) {
			n = used[i]
		}
		item := userapi.UserLimit{Id: r.ID, Scope: string(r.Scope), Model: r.Model,
			Window: limits.FormatWindow(r.Window), Requests: wire.Null(limitOf(r.Requests)), Tokens: wire.Null(limitOf(r.Tokens)),
			Concurrency: wire.Null(limitOf(r.Concurrency)), UsedRequests: n.Requests, UsedTokens: n.Tokens, InFlight: n.Concurrency,
			RemainingRequests: wire.Null(remaining(r.Requests, n.Requests)), RemainingTokens: wire.Null(remaining(r.Tokens, n.Tokens)),
			RemainingConcurrency: wire.Null(remaining(r.Concurrency, n.Concurrency))}
		if n.ClearsIn > 0 {
			item.ClearsIn = int64((n.ClearsIn + 999_999_999) / 1_000_000_000)
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

func limitOf(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func remaining(limit, used int64) *int64 {
	if limit == 0 {
		return nil
	}
	v := max(limit-used, 0)
	return &v
}
