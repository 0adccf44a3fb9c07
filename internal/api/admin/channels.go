package admin

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/store"
)

const (
	channelNotFound = "channel not found"
	channelConflict = "a channel with this name already exists"
)

// Channel defaults when the create body leaves a field out.
const (
	defaultPriority = 0
	defaultWeight   = 1
)

// ChannelList lists every channel by id, with its account count.
func (h *Handler) ChannelList(ctx context.Context, _ adminapi.ChannelListRequestObject) (adminapi.ChannelListResponseObject, error) {
	rows, err := h.Queries.ChannelList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	out := adminapi.ChannelList200JSONResponse{Items: make([]adminapi.Channel, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, channelOut((*db.ChannelGetRow)(r)))
	}
	return out, nil
}

// ChannelCreate adds a channel (priority 0, weight 1 and active unless given) and reroutes.
func (h *Handler) ChannelCreate(ctx context.Context, req adminapi.ChannelCreateRequestObject) (adminapi.ChannelCreateResponseObject, error) {
	b := req.Body
	p := db.ChannelCreateParams{Name: b.Name, Type: string(b.Type), BaseURL: b.BaseUrl, Models: b.Models,
		Priority: defaultPriority, Weight: defaultWeight, Status: string(adminapi.ActiveStatusActive)}
	if err := h.baseURLIn(ctx, &b.BaseUrl); err != nil {
		return nil, err
	}
	var err error
	if p.ProxyURL, err = h.proxyIn(ctx, b.ProxyUrl); err != nil {
		return nil, err
	}
	if b.Priority != nil {
		if p.Priority, err = int32Of("priority", *b.Priority); err != nil {
			return nil, err
		}
	}
	if b.Weight != nil {
		if p.Weight, err = int32Of("weight", *b.Weight); err != nil {
			return nil, err
		}
	}
	if b.Status != nil {
		p.Status = string(*b.Status)
	}
	if p.Models == nil {
		p.Models = []string{}
	}
	c, err := h.Queries.ChannelCreate(ctx, h.Pool, p)
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, channelConflict)
	}
	if err != nil {
		return nil, err
	}
	if b.MinTier != nil {
		if err := h.Queries.ChannelSetMinTier(ctx, h.Pool, db.ChannelSetMinTierParams{ID: c.ID, MinTier: string(*b.MinTier)}); err != nil {
			return nil, err
		}
		c.MinTier = string(*b.MinTier)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelCreate201JSONResponse(channelOut(&db.ChannelGetRow{ID: c.ID, Name: c.Name, Type: c.Type,
		BaseURL: c.BaseURL, Models: c.Models, Priority: c.Priority, Weight: c.Weight, Status: c.Status,
		MinTier: c.MinTier, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, ProxyURL: c.ProxyURL})), nil
}

// ChannelGet reads one channel.
func (h *Handler) ChannelGet(ctx context.Context, req adminapi.ChannelGetRequestObject) (adminapi.ChannelGetResponseObject, error) {
	c, err := h.Queries.ChannelGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, channelNotFound)
	}
	return adminapi.ChannelGet200JSONResponse(channelOut(c)), nil
}

// ChannelUpdate changes the fields present and reroutes.
func (h *Handler) ChannelUpdate(ctx context.Context, req adminapi.ChannelUpdateRequestObject) (adminapi.ChannelUpdateResponseObject, error) {
	b := req.Body
	p := db.ChannelUpdateParams{ID: req.Id, Name: b.Name, BaseURL: b.BaseUrl, Status: statusPtr(b.Status)}
	if b.Models != nil {
		p.Models = *b.Models
		if p.Models == nil {
			p.Models = []string{}
		}
	}
	if err := h.baseURLIn(ctx, b.BaseUrl); err != nil {
		return nil, err
	}
	var err error
	if p.ProxyURL, err = h.proxyIn(ctx, b.ProxyUrl); err != nil {
		return nil, err
	}
	if p.Priority, err = int32Ptr("priority", b.Priority); err != nil {
		return nil, err
	}
	if p.Weight, err = int32Ptr("weight", b.Weight); err != nil {
		return nil, err
	}
	var c *db.ChannelGetRow
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := h.Queries.ChannelUpdate(ctx, tx, p); err != nil {
			if store.IsUniqueViolation(err) {
				return fault.New(fault.Conflict, channelConflict)
			}
			return store.Translate(err, channelNotFound)
		}
		if b.MinTier != nil {
			if err := h.Queries.ChannelSetMinTier(ctx, tx, db.ChannelSetMinTierParams{ID: req.Id, MinTier: string(*b.MinTier)}); err != nil {
				return err
			}
		}
		c, err = h.Queries.ChannelGet(ctx, tx, req.Id)
		if err != nil {
			return store.Translate(err, channelNotFound)
		}
		if c.Status == string(adminapi.ActiveStatusActive) && c.BaseURL == "" {
			return fault.New(fault.Unprocessable, "set this channel's base_url before enabling it")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelUpdate200JSONResponse(channelOut(c)), nil
}

// ChannelDelete deletes a channel and its accounts, and reroutes.
func (h *Handler) ChannelDelete(ctx context.Context, req adminapi.ChannelDeleteRequestObject) (adminapi.ChannelDeleteResponseObject, error) {
	n, err := h.Queries.ChannelDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, channelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelDelete204Response{}, nil
}

// baseURLIn checks a channel base URL given in a body (nil or empty: nothing to check) against the
// outbound guard when GUARD_CHANNEL_BASE_URLS is on; a host that does not resolve now is checked
// again when dialled. The refusal names the field and the address, never the URL's userinfo,
// path or query.
func (h *Handler) baseURLIn(ctx context.Context, u *string) error {
	if !h.GuardChannelBaseURLs || h.Guard == nil || u == nil || *u == "" {
		return nil
	}
	if err := h.Guard.Check(ctx, *u); err != nil && !errors.Is(err, netguard.ErrResolve) {
		return fault.New(fault.Unprocessable, "base_url: "+err.Error()+" (GUARD_CHANNEL_BASE_URLS is on; see ALLOW_PRIVATE_OUTBOUND)")
	}
	return nil
}
