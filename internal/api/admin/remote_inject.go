package admin

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/remote"
)

// RemoteAccountInject imports tokens, accounts or a payload given directly, and answers with
// counts only.
func (h *Handler) RemoteAccountInject(ctx context.Context, req adminapi.RemoteAccountInjectRequestObject) (adminapi.RemoteAccountInjectResponseObject, error) {
	b := req.Body
	if b.Tokens == nil && b.Accounts == nil && b.Payload == nil {
		return nil, fault.New(fault.Invalid, remote.MsgPayloadRequired)
	}
	provider := string(deref(b.Provider))
	batch := &remote.Batch{}
	parts := []struct {
		present bool
		value   any
	}{
		{b.Tokens != nil, map[string]any{"tokens": b.Tokens}},
		{b.Accounts != nil, map[string]any{"accounts": b.Accounts}},
		{b.Payload != nil, b.Payload},
	}
	for _, p := range parts {
		if !p.present {
			continue
		}
		raw, err := json.Marshal(p.value)
		if err != nil {
			return nil, fault.New(fault.Invalid, "payload: cannot be read")
		}
		part, err := remote.Parse(raw, provider)
		if errors.Is(err, remote.ErrPayload) {
			return nil, fault.New(fault.Invalid, "payload: "+err.Error())
		}
		if err != nil {
			return nil, err
		}
		batch.Append(part)
	}
	t := remote.Target{SourceID: deref(b.SourceId), SourceName: deref(b.SourceName),
		Strategy: remote.StrategyMerge, ChannelID: b.ChannelId}
	if b.Strategy != nil {
		t.Strategy = string(*b.Strategy)
	}
	c, err := h.Remote.Inject(ctx, t, batch)
	if err != nil {
		return nil, err
	}
	return adminapi.RemoteAccountInject200JSONResponse{Strategy: adminapi.RemoteStrategy(t.Strategy), SourceId: t.SourceID,
		SourceName: t.SourceName, Total: c.Total, Added: c.Added, Skipped: c.Skipped, Removed: c.Removed}, nil
}
