package admin

import (
	"context"

	"github.com/jackc/pgx/v5"
	"strconv"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

const userNotFound = "user not found"

// UserList returns a page of users by id, filtered by name, role and status.
func (h *Handler) UserList(ctx context.Context, req adminapi.UserListRequestObject) (adminapi.UserListResponseObject, error) {
	q := req.Params
	pg, ps, off, lim := page(q.Page, q.PageSize)
	f := db.UserCountParams{Q: q.Q}
	if q.Role != nil {
		r := string(*q.Role)
		f.Role = &r
	}
	if q.Status != nil {
		s := string(*q.Status)
		f.Status = &s
	}
	total, err := h.Queries.UserCount(ctx, h.Pool, f)
	if err != nil {
		return nil, err
	}
	rows, err := h.Queries.UserList(ctx, h.Pool, db.UserListParams{Q: f.Q, Role: f.Role, Status: f.Status,
		Off: off, Lim: lim})
	if err != nil {
		return nil, err
	}
	out := adminapi.UserList200JSONResponse{Items: make([]commonapi.User, 0, len(rows)), Total: total, Page: pg, PageSize: ps}
	for _, u := range rows {
		out.Items = append(out.Items, wire.User(u))
	}
	return out, nil
}

// UserGet reads one user.
func (h *Handler) UserGet(ctx context.Context, req adminapi.UserGetRequestObject) (adminapi.UserGetResponseObject, error) {
	u, err := h.Queries.UserGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, userNotFound)
	}
	return adminapi.UserGet200JSONResponse(wire.User(u)), nil
}

// UserUpdate changes a user's role, status or balance (set, or moved by a delta atomically), and
// makes every instance drop the user from its caches. An administrator cannot disable or demote
// themselves, so the gateway always keeps the administrator who is making changes.
func (h *Handler) UserUpdate(ctx context.Context, req adminapi.UserUpdateRequestObject) (adminapi.UserUpdateResponseObject, error) {
	b := req.Body
	if b.Balance != nil && b.BalanceDelta != nil {
		return nil, fault.New(fault.Invalid, "balance and balance_delta cannot be used together")
	}
	p := db.UserUpdateParams{ID: req.Id, Balance: b.Balance, BalanceDelta: b.BalanceDelta}
	identityUpdate(&p, b)
	if b.Role != nil {
		r := string(*b.Role)
		p.Role = &r
	}
	if b.Status != nil {
		s := string(*b.Status)
		p.Status = &s
	}
	if me := auth.PrincipalFrom(ctx); me != nil && me.UserID == req.Id {
		if (p.Role != nil && *p.Role != auth.RoleAdmin) || (p.Status != nil && *p.Status != auth.StatusActive) {
			return nil, fault.New(fault.Unprocessable, "you cannot disable or demote yourself")
		}
	}
	if err := h.refuseDeleted(ctx, req.Id, p.Status); err != nil {
		return nil, err
	}
	var u *db.User
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		var err error
		if u, err = h.Queries.UserUpdate(ctx, tx, p); err != nil {
			return auth.UserConflict(err)
		}
		if b.GroupId != nil {
			var g *int64
			if *b.GroupId != 0 {
				g = b.GroupId
			}
			if u, err = h.Queries.UserSetGroup(ctx, tx, db.UserSetGroupParams{ID: req.Id, GroupID: g}); err != nil {
				return store.Translate(err, groupNotFound) // a group that does not exist
			}
		}
		if b.Tier == nil && wire.Ptr(b.PlanExpiresAt) == nil {
			return nil
		}
		// Granting a tier sets its expiry too (absent: never), so an old expiry never cuts a new grant short.
		u, err = h.Queries.UserSetTier(ctx, tx, db.UserSetTierParams{ID: req.Id, Tier: tierPtr(b.Tier),
			SetPlanExpiresAt: true, PlanExpiresAt: wire.Ptr(b.PlanExpiresAt)})
		return store.Translate(err, userNotFound)
	})
	if err != nil {
		return nil, err
	}
	if err := h.afterUserUpdate(ctx, u, b); err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(u.ID, 10))
	return adminapi.UserUpdate200JSONResponse(wire.User(u)), nil
}

// UserDelete soft-deletes a user: disabled for good and hidden from the list; their keys and
// sessions stop on every instance, their usage history stays.
func (h *Handler) UserDelete(ctx context.Context, req adminapi.UserDeleteRequestObject) (adminapi.UserDeleteResponseObject, error) {
	if me := auth.PrincipalFrom(ctx); me != nil && me.UserID == req.Id {
		return nil, fault.New(fault.Unprocessable, "you cannot delete yourself")
	}
	u, err := h.Queries.UserSoftDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, userNotFound)
	}
	if err := h.Auth.EndSessions(ctx, u.ID, ""); err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(u.ID, 10))
	return adminapi.UserDelete204Response{}, nil
}

// refuseDeleted refuses to re-activate a deleted user (their keys and sessions were ended for good).
func (h *Handler) refuseDeleted(ctx context.Context, id int64, status *string) error {
	if status == nil || *status == "disabled" {
		return nil
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, id)
	if err != nil {
		return store.Translate(err, userNotFound)
	}
	if u.DeletedAt != nil {
		return fault.New(fault.Unprocessable, "the user is deleted")
	}
	return nil
}
