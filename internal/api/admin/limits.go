package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/store"
)

const limitNotFound = "limit rule not found"

// LimitList lists every limit rule.
func (h *Handler) LimitList(ctx context.Context, _ adminapi.LimitListRequestObject) (adminapi.LimitListResponseObject, error) {
	rows, err := h.Queries.LimitRuleList(ctx, h.Pool)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.LimitList200JSONResponse{Items: make([]adminapi.LimitRule, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, limitOut(r))
	}
	return out, nil
}

// LimitCreate makes a rule; every instance applies it at once.
func (h *Handler) LimitCreate(ctx context.Context, req adminapi.LimitCreateRequestObject) (adminapi.LimitCreateResponseObject, error) {
	p, err := limitParams(req.Body)
	if err != nil {
		return nil, err
	}
	row, err := h.Queries.LimitRuleCreate(ctx, h.Pool, db.LimitRuleCreateParams{Scope: p.Scope, SubjectID: p.SubjectID,
		Model: p.Model, WindowMs: p.WindowMs, Requests: p.Requests, Tokens: p.Tokens, Concurrency: p.Concurrency})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	h.Bus.Publish(ctx, limits.Topic, "")
	return adminapi.LimitCreate201JSONResponse(limitOut(row)), nil
}

// LimitUpdate replaces an administrator's rule.
func (h *Handler) LimitUpdate(ctx context.Context, req adminapi.LimitUpdateRequestObject) (adminapi.LimitUpdateResponseObject, error) {
	p, err := limitParams(req.Body)
	if err != nil {
		return nil, err
	}
	p.ID = req.Id
	row, err := h.Queries.LimitRuleUpdate(ctx, h.Pool, p)
	if err != nil {
		return nil, store.Translate(err, limitNotFound)
	}
	h.Bus.Publish(ctx, limits.Topic, "")
	return adminapi.LimitUpdate200JSONResponse(limitOut(row)), nil
}

// LimitDelete deletes a rule.
func (h *Handler) LimitDelete(ctx context.Context, req adminapi.LimitDeleteRequestObject) (adminapi.LimitDeleteResponseObject, error) {
	n, err := h.Queries.LimitRuleDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, limitNotFound)
	}
	h.Bus.Publish(ctx, limits.Topic, "")
	return adminapi.LimitDelete204Response{}, nil
}

// limitParams checks a rule's body (the spec's bounds are checked before; the pattern, the
// window and the scope's subject here).
func limitParams(b *adminapi.LimitRuleInput) (db.LimitRuleUpdateParams, error) {
	w, err := limits.ParseWindow(b.Window)
	if err != nil {
		return db.LimitRuleUpdateParams{}, fault.New(fault.Invalid, "window: "+err.Error())
	}
	r := limits.Rule{Scope: limits.Scope(b.Scope), Subject: deref(b.SubjectId), Model: b.Model, Window: w,
		Requests: deref(b.Requests), Tokens: deref(b.Tokens), Concurrency: deref(b.Concurrency)}
	if err := r.Validate(); err != nil {
		return db.LimitRuleUpdateParams{}, fault.New(fault.Invalid, err.Error())
	}
	return db.LimitRuleUpdateParams{Scope: string(b.Scope), SubjectID: b.SubjectId, Model: b.Model, WindowMs: w.Milliseconds(),
		Requests: b.Requests, Tokens: b.Tokens, Concurrency: b.Concurrency}, nil
}

func limitOut(r *db.LimitRule) adminapi.LimitRule {
	rule := limits.FromRow(r)
	return adminapi.LimitRule{Id: r.ID, Scope: adminapi.LimitRuleScope(r.Scope), SubjectId: wire.Null(r.SubjectID), Model: r.Model,
		Window: limits.FormatWindow(rule.Window), Requests: wire.Null(r.Requests), Tokens: wire.Null(r.Tokens), Concurrency: wire.Null(r.Concurrency),
		Source: r.Source, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
