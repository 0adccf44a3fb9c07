package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/plans"
	"github.com/poolgate/poolgate/internal/store"
)

const (
	planNotFound = "plan not found"
	planConflict = "a plan with this name already exists"
)

// PlanList lists every plan with its limit rules.
func (h *Handler) PlanList(ctx context.Context, _ adminapi.PlanListRequestObject) (adminapi.PlanListResponseObject, error) {
	rows, err := h.Queries.PlanList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	rules, err := h.Queries.PlanLimitList(ctx, h.Pool, wire.PlanIDs(rows))
	if err != nil {
		return nil, err
	}
	return adminapi.PlanList200JSONResponse{Items: wire.Plans(rows, rules)}, nil
}

// PlanCreate creates a plan and its limit rules.
func (h *Handler) PlanCreate(ctx context.Context, req adminapi.PlanCreateRequestObject) (adminapi.PlanCreateResponseObject, error) {
	b := req.Body
	rules, err := planRules(b.Limits)
	if err != nil {
		return nil, err
	}
	enabled := b.Enabled == nil || *b.Enabled
	var out commonapi.Plan
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		p, err := h.Queries.PlanCreate(ctx, tx, db.PlanCreateParams{Name: b.Name, Tier: string(b.Tier),
			DurationDays: int32(b.DurationDays), Quota: deref(b.Quota), Price: deref(b.Price), //nolint:gosec // bounded by the contract
			Description: deref(b.Description), Enabled: enabled})
		if err != nil {
			return planWriteErr(err)
		}
		return h.planSaved(ctx, tx, p, rules, &out)
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, limits.Topic, "")
	return adminapi.PlanCreate201JSONResponse(out), nil
}

// PlanUpdate changes a plan; limits, when present, replaces its rules. The plan's users are
// reread on every instance (a changed tier applies at once).
func (h *Handler) PlanUpdate(ctx context.Context, req adminapi.PlanUpdateRequestObject) (adminapi.PlanUpdateResponseObject, error) {
	b := req.Body
	var rules []db.PlanLimitAddParams
	if b.Limits != nil {
		var err error
		if rules, err = planRules(b.Limits); err != nil {
			return nil, err
		}
	}
	var tier *string
	if b.Tier != nil {
		t := string(*b.Tier)
		tier = &t
	}
	var days *int32
	if b.DurationDays != nil {
		d := int32(*b.DurationDays) //nolint:gosec // bounded by the contract
		days = &d
	}
	var out commonapi.Plan
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		p, err := h.Queries.PlanUpdate(ctx, tx, db.PlanUpdateParams{ID: req.Id, Name: b.Name, Tier: tier, DurationDays: days,
			Quota: b.Quota, Price: b.Price, Description: b.Description, Enabled: b.Enabled})
		if err != nil {
			if store.IsNotFound(err) {
				return fault.New(fault.NotFound, planNotFound)
			}
			return planWriteErr(err)
		}
		if tier != nil {
			if err := h.Queries.PlanUsersRetier(ctx, tx, db.PlanUsersRetierParams{PlanID: &p.ID, Tier: p.Tier}); err != nil {
				return err
			}
		}
		if b.Limits == nil {
			rs, err := h.Queries.PlanLimitList(ctx, tx, []int64{p.ID})
			if err != nil {
				return err
			}
			out = wire.Plan(p, rs)
			return nil
		}
		if err := h.Queries.PlanLimitClear(ctx, tx, &p.ID); err != nil {
			return err
		}
		return h.planSaved(ctx, tx, p, rules, &out)
	})
	if err != nil {
		return nil, err
	}
	h.plansChanged(ctx)
	return adminapi.PlanUpdate200JSONResponse(out), nil
}

// PlanDelete deletes a plan (its rules go with it); a plan codes grant is refused.
func (h *Handler) PlanDelete(ctx context.Context, req adminapi.PlanDeleteRequestObject) (adminapi.PlanDeleteResponseObject, error) {
	n, err := h.Queries.PlanDelete(ctx, h.Pool, req.Id)
	if err != nil {
		if store.IsForeignKeyViolation(err) {
			return nil, fault.New(fault.Conflict, "redemption codes grant this plan: disable it instead")
		}
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, planNotFound)
	}
	h.plansChanged(ctx)
	return adminapi.PlanDelete204Response{}, nil
}

// SubscriptionGrant gives a user a plan (plans.Grant; each call is a grant of its own).
func (h *Handler) SubscriptionGrant(ctx context.Context, req adminapi.SubscriptionGrantRequestObject) (adminapi.SubscriptionGrantResponseObject, error) {
	uid := int64(req.Id)
	ref := make([]byte, 12)
	_, _ = rand.Read(ref)
	var sub *db.Subscription
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		var err error
		sub, _, err = plans.Grant(ctx, tx, h.Queries, uid, req.Body.PlanId,
			plans.Source{Kind: plans.SourceAdmin, Ref: hex.EncodeToString(ref)}, time.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	plans.Changed(ctx, h.Bus, uid)
	return adminapi.SubscriptionGrant201JSONResponse(wire.Subscription(sub)), nil
}

// planSaved adds a plan's rules and reads the plan back as it is now.
func (h *Handler) planSaved(ctx context.Context, tx pgx.Tx, p *db.Plan, rules []db.PlanLimitAddParams, out *commonapi.Plan) error {
	for _, r := range rules {
		r.PlanID = &p.ID
		if err := h.Queries.PlanLimitAdd(ctx, tx, r); err != nil {
			return err
		}
	}
	rs, err := h.Queries.PlanLimitList(ctx, tx, []int64{p.ID})
	if err != nil {
		return err
	}
	*out = wire.Plan(p, rs)
	return nil
}

// plansChanged makes every instance reread the limit rules and the users (their plan's tier).
func (h *Handler) plansChanged(ctx context.Context) {
	h.Bus.Publish(ctx, limits.Topic, "")
	h.groupsChanged(ctx)
}

// planRules checks a plan's limit rules (the window and that each limits something).
func planRules(in *[]commonapi.PlanLimit) ([]db.PlanLimitAddParams, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]db.PlanLimitAddParams, 0, len(*in))
	for _, l := range *in {
		w, err := limits.ParseWindow(l.Window)
		if err != nil {
			return nil, fault.New(fault.Invalid, "limits: window: "+err.Error())
		}
		r := limits.Rule{Scope: limits.ScopeUser, Model: l.Model, Window: w, Requests: deref(wire.Ptr(l.Requests)),
			Tokens: deref(wire.Ptr(l.Tokens)), Concurrency: deref(wire.Ptr(l.Concurrency))}
		if err := r.Validate(); err != nil {
			return nil, fault.New(fault.Invalid, "limits: "+err.Error())
		}
		out = append(out, db.PlanLimitAddParams{Model: l.Model, WindowMs: w.Milliseconds(), Requests: wire.Ptr(l.Requests),
			Tokens: wire.Ptr(l.Tokens), Concurrency: wire.Ptr(l.Concurrency)})
	}
	return out, nil
}

func planWriteErr(err error) error {
	if store.IsUniqueViolation(err) {
		return fault.New(fault.Conflict, planConflict)
	}
	return store.Translate(err, "")
}
