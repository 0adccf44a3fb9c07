package admin

import (
	"context"
	"time"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// testCallTimeout bounds an account's test call.
const testCallTimeout = 60 * time.Second

// AccountTest sends one real minimal completion through an account, in its channel's protocol,
// and answers the upstream's status, the latency and the answer (pool.TestCall).
func (h *Handler) AccountTest(ctx context.Context, req adminapi.AccountTestRequestObject) (adminapi.AccountTestResponseObject, error) {
	a, err := h.Queries.AccountGet(ctx, h.Pool, db.AccountGetParams{ID: req.AccountId, ChannelID: req.Id})
	if err != nil {
		if err := h.channelExists(ctx, h.Pool, req.Id); err != nil {
			return nil, err
		}
		return nil, store.Translate(err, accountNotFound)
	}
	ch, err := h.Queries.ChannelGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, channelNotFound)
	}
	model := ""
	if req.Body != nil && req.Body.Model != nil {
		model = *req.Body.Model
	} else if len(ch.Models) > 0 {
		model = ch.Models[0]
	}
	if model == "" {
		return nil, fault.Code(fault.Invalid, "invalid_request", "model: the channel serves no model; name one")
	}
	cred, err := h.Box.Open(a.CredentialEnc)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the account's credential cannot be decrypted", err)
	}
	cctx, cancel := context.WithTimeout(ctx, testCallTimeout)
	defer cancel()
	proxy := a.ProxyURL
	if proxy == "" {
		proxy = ch.ProxyURL
	}
	r := h.Accounts.TestCall(cctx, ch.Type, ch.BaseURL, cred, proxy, model)
	return adminapi.AccountTest200JSONResponse{Ok: r.OK, Model: model, Status: r.Status,
		LatencyMs: r.Latency.Milliseconds(), Answer: r.Answer, Error: r.Error}, nil
}
