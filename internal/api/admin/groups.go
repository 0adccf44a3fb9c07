package admin

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

const groupNotFound = "group not found"

// GroupList lists every group with the channels restricted to it.
func (h *Handler) GroupList(ctx context.Context, _ adminapi.GroupListRequestObject) (adminapi.GroupListResponseObject, error) {
	rows, err := h.Queries.GroupList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	out := adminapi.GroupList200JSONResponse{Items: make([]adminapi.Group, 0, len(rows))}
	for _, g := range rows {
		out.Items = append(out.Items, groupOut((*db.GroupGetRow)(g)))
	}
	return out, nil
}

// GroupCreate creates a group and restricts the channels given to it.
func (h *Handler) GroupCreate(ctx context.Context, req adminapi.GroupCreateRequestObject) (adminapi.GroupCreateResponseObject, error) {
	b := req.Body
	var g *db.GroupGetRow
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		id, err := h.Queries.GroupCreate(ctx, tx, db.GroupCreateParams{Name: b.Name,
			MultiplierPermille: permille(b.MultiplierPermille), Description: b.Description})
		if err != nil {
			if store.IsUniqueViolation(err) {
				return fault.New(fault.Conflict, "a group with this name already exists")
			}
			return err
		}
		if err := h.setGroupChannels(ctx, tx, id, b.ChannelIds); err != nil {
			return err
		}
		g, err = h.Queries.GroupGet(ctx, tx, id)
		return store.Translate(err, groupNotFound)
	})
	if err != nil {
		return nil, err
	}
	h.groupsChanged(ctx)
	return adminapi.GroupCreate201JSONResponse(groupOut(g)), nil
}

// GroupUpdate changes a group; channel_ids, when present, replaces its channels.
func (h *Handler) GroupUpdate(ctx context.Context, req adminapi.GroupUpdateRequestObject) (adminapi.GroupUpdateResponseObject, error) {
	b := req.Body
	var g *db.GroupGetRow
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		n, err := h.Queries.GroupUpdate(ctx, tx, db.GroupUpdateParams{ID: req.Id, Name: b.Name,
			MultiplierPermille: permille(b.MultiplierPermille), Description: b.Description})
		if err != nil {
			if store.IsUniqueViolation(err) {
				return fault.New(fault.Conflict, "a group with this name already exists")
			}
			return err
		}
		if n == 0 {
			return fault.New(fault.NotFound, groupNotFound)
		}
		if b.ChannelIds != nil {
			if err := h.Queries.GroupChannelsClear(ctx, tx, req.Id); err != nil {
				return err
			}
			if err := h.setGroupChannels(ctx, tx, req.Id, b.ChannelIds); err != nil {
				return err
			}
		}
		g, err = h.Queries.GroupGet(ctx, tx, req.Id)
		return store.Translate(err, groupNotFound)
	})
	if err != nil {
		return nil, err
	}
	h.groupsChanged(ctx)
	return adminapi.GroupUpdate200JSONResponse(groupOut(g)), nil
}

// GroupDelete deletes a group: its users are left without one, its channel restrictions go.
func (h *Handler) GroupDelete(ctx context.Context, req adminapi.GroupDeleteRequestObject) (adminapi.GroupDeleteResponseObject, error) {
	n, err := h.Queries.GroupDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, groupNotFound)
	}
	h.groupsChanged(ctx)
	return adminapi.GroupDelete204Response{}, nil
}

// setGroupChannels restricts channels to a group, refusing unknown channel ids.
func (h *Handler) setGroupChannels(ctx context.Context, tx pgx.Tx, group int64, ids *[]int64) error {
	if ids == nil || len(*ids) == 0 {
		return nil
	}
	uniq := slices.Compact(slices.Sorted(slices.Values(*ids)))
	n, err := h.Queries.GroupChannelsCount(ctx, tx, uniq)
	if err != nil {
		return err
	}
	if int(n) != len(uniq) {
		return fault.New(fault.Invalid, "channel_ids: a channel does not exist")
	}
	return store.Translate(h.Queries.GroupChannelsAdd(ctx, tx, db.GroupChannelsAddParams{ChannelIds: uniq, GroupID: group}), "")
}

// groupsChanged makes every instance reroute (channel restrictions) and reload its users (their
// group's multiplier is cached with them).
func (h *Handler) groupsChanged(ctx context.Context) {
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	h.Bus.Publish(ctx, bus.TopicUser, "")
}

func groupOut(g *db.GroupGetRow) adminapi.Group {
	ids := g.ChannelIds
	if ids == nil {
		ids = []int64{}
	}
	return adminapi.Group{Id: g.ID, Name: g.Name, MultiplierPermille: int(g.MultiplierPermille), Description: g.Description,
		ChannelIds: ids, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

func permille(v *int) *int32 {
	if v == nil {
		return nil
	}
	n := int32(*v) //nolint:gosec // bounded by the contract (0..1e6)
	return &n
}
