package admin

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// Multipliers (docs/money.md § Multipliers): each PUT replaces one subject's whole set in a
// transaction and makes every instance reread them (they live in the routing snapshot).

// ChannelGroupMultiplierList lists a channel's channel × group multipliers.
func (h *Handler) ChannelGroupMultiplierList(ctx context.Context, req adminapi.ChannelGroupMultiplierListRequestObject) (adminapi.ChannelGroupMultiplierListResponseObject, error) {
	if _, err := h.Queries.ChannelGet(ctx, h.Pool, req.Id); err != nil {
		return nil, store.Translate(err, channelNotFound)
	}
	rows, err := h.Queries.ChannelGroupMultiplierList(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	out := adminapi.ChannelGroupMultiplierList200JSONResponse{Items: make([]adminapi.GroupMultiplier, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, adminapi.GroupMultiplier{GroupId: r.GroupID, MultiplierPermille: int(r.MultiplierPermille)})
	}
	return out, nil
}

// ChannelGroupMultiplierSet replaces a channel's channel × group multipliers.
func (h *Handler) ChannelGroupMultiplierSet(ctx context.Context, req adminapi.ChannelGroupMultiplierSetRequestObject) (adminapi.ChannelGroupMultiplierSetResponseObject, error) {
	ids, ps, err := groupFactors(req.Body.Items)
	if err != nil {
		return nil, err
	}
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := h.Queries.ChannelGet(ctx, tx, req.Id); err != nil {
			return store.Translate(err, channelNotFound)
		}
		if err := h.Queries.ChannelGroupMultiplierClear(ctx, tx, req.Id); err != nil {
			return err
		}
		return factorsErr(h.Queries.ChannelGroupMultiplierSet(ctx, tx, db.ChannelGroupMultiplierSetParams{
			ChannelID: req.Id, GroupIds: ids, Permilles: ps}), groupNotFound)
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelGroupMultiplierSet200JSONResponse{Items: sortedGroups(req.Body.Items)}, nil
}

// ChannelModelGroupMultiplierList lists a channel model's channel-model × group multipliers.
func (h *Handler) ChannelModelGroupMultiplierList(ctx context.Context, req adminapi.ChannelModelGroupMultiplierListRequestObject) (adminapi.ChannelModelGroupMultiplierListResponseObject, error) {
	if _, err := h.Queries.ChannelModelExists(ctx, h.Pool, req.Id); err != nil {
		return nil, store.Translate(err, channelModelNotFound)
	}
	rows, err := h.Queries.ChannelModelGroupMultiplierList(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	out := adminapi.ChannelModelGroupMultiplierList200JSONResponse{Items: make([]adminapi.GroupMultiplier, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, adminapi.GroupMultiplier{GroupId: r.GroupID, MultiplierPermille: int(r.MultiplierPermille)})
	}
	return out, nil
}

// ChannelModelGroupMultiplierSet replaces a channel model's channel-model × group multipliers.
func (h *Handler) ChannelModelGroupMultiplierSet(ctx context.Context, req adminapi.ChannelModelGroupMultiplierSetRequestObject) (adminapi.ChannelModelGroupMultiplierSetResponseObject, error) {
	ids, ps, err := groupFactors(req.Body.Items)
	if err != nil {
		return nil, err
	}
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := h.Queries.ChannelModelExists(ctx, tx, req.Id); err != nil {
			return store.Translate(err, channelModelNotFound)
		}
		if err := h.Queries.ChannelModelGroupMultiplierClear(ctx, tx, req.Id); err != nil {
			return err
		}
		return factorsErr(h.Queries.ChannelModelGroupMultiplierSet(ctx, tx, db.ChannelModelGroupMultiplierSetParams{
			ChannelModelID: req.Id, GroupIds: ids, Permilles: ps}), groupNotFound)
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.ChannelModelGroupMultiplierSet200JSONResponse{Items: sortedGroups(req.Body.Items)}, nil
}

// UserChannelMultiplierList lists a user's user × channel multipliers.
func (h *Handler) UserChannelMultiplierList(ctx context.Context, req adminapi.UserChannelMultiplierListRequestObject) (adminapi.UserChannelMultiplierListResponseObject, error) {
	uid := int64(req.Id)
	if _, err := h.Queries.UserGrantGet(ctx, h.Pool, uid); err != nil {
		return nil, store.Translate(err, userNotFound)
	}
	rows, err := h.Queries.UserChannelMultiplierList(ctx, h.Pool, uid)
	if err != nil {
		return nil, err
	}
	out := adminapi.UserChannelMultiplierList200JSONResponse{Items: make([]adminapi.ChannelMultiplier, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, adminapi.ChannelMultiplier{ChannelId: r.ChannelID, MultiplierPermille: int(r.MultiplierPermille)})
	}
	return out, nil
}

// UserChannelMultiplierSet replaces a user's user × channel multipliers.
func (h *Handler) UserChannelMultiplierSet(ctx context.Context, req adminapi.UserChannelMultiplierSetRequestObject) (adminapi.UserChannelMultiplierSetResponseObject, error) {
	uid := int64(req.Id)
	items := req.Body.Items
	ids, ps := make([]int64, 0, len(items)), make([]int32, 0, len(items))
	seen := map[int64]bool{}
	for i, it := range items {
		if seen[it.ChannelId] {
			return nil, fault.New(fault.Invalid, "items["+strconv.Itoa(i)+"].channel_id: channel listed twice")
		}
		seen[it.ChannelId] = true
		ids, ps = append(ids, it.ChannelId), append(ps, int32(it.MultiplierPermille)) //nolint:gosec // bounded by the contract (0..1e6)
	}
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := h.Queries.UserGrantGet(ctx, tx, uid); err != nil {
			return store.Translate(err, userNotFound)
		}
		if err := h.Queries.UserChannelMultiplierClear(ctx, tx, uid); err != nil {
			return err
		}
		return factorsErr(h.Queries.UserChannelMultiplierSet(ctx, tx, db.UserChannelMultiplierSetParams{
			UserID: uid, ChannelIds: ids, Permilles: ps}), channelNotFound)
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	out := make([]adminapi.ChannelMultiplier, len(items))
	copy(out, items)
	slicesSortBy(out, func(m adminapi.ChannelMultiplier) int64 { return m.ChannelId })
	return adminapi.UserChannelMultiplierSet200JSONResponse{Items: out}, nil
}

// groupFactors checks a set of group multipliers (each group once) and splits it into columns.
func groupFactors(items []adminapi.GroupMultiplier) ([]int64, []int32, error) {
	ids, ps := make([]int64, 0, len(items)), make([]int32, 0, len(items))
	seen := map[int64]bool{}
	for i, it := range items {
		if seen[it.GroupId] {
			return nil, nil, fault.New(fault.Invalid, "items["+strconv.Itoa(i)+"].group_id: group listed twice")
		}
		seen[it.GroupId] = true
		ids, ps = append(ids, it.GroupId), append(ps, int32(it.MultiplierPermille)) //nolint:gosec // bounded by the contract (0..1e6)
	}
	return ids, ps, nil
}

// factorsErr names the subject a foreign key violation refers to (a group or channel that does
// not exist).
func factorsErr(err error, what string) error {
	if err == nil {
		return nil
	}
	return store.Translate(err, what)
}

func sortedGroups(items []adminapi.GroupMultiplier) []adminapi.GroupMultiplier {
	out := make([]adminapi.GroupMultiplier, len(items))
	copy(out, items)
	slicesSortBy(out, func(m adminapi.GroupMultiplier) int64 { return m.GroupId })
	return out
}

func slicesSortBy[T any](s []T, key func(T) int64) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}
