package admin

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

const (
	monitorNotFound = "status monitor not found"
	monitorConflict = "a status monitor with this name already exists"
)

func monitorOut(m *db.StatusMonitor) adminapi.StatusMonitor {
	out := adminapi.StatusMonitor{Id: m.ID, Name: m.Name, ChannelId: m.ChannelID, Model: m.Model,
		IntervalSeconds: int(m.IntervalSeconds), Public: m.Public, Enabled: m.Enabled,
		LastStatus: adminapi.StatusMonitorLastStatus(m.LastStatus), LastMessage: m.LastMessage,
		LastCheckedAt: wire.Null(m.LastCheckedAt), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		LastLatencyMs: wire.NullMap(m.LastLatencyMs, func(v int32) int { return int(v) })}
	return out
}

// monitorWriteErr translates a monitor write: a duplicate name, or a missing channel.
func monitorWriteErr(err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fault.New(fault.NotFound, monitorNotFound)
	case store.IsUniqueViolation(err):
		return fault.New(fault.Conflict, monitorConflict)
	}
	if store.IsNotFound(err) {
		return fault.New(fault.NotFound, channelNotFound) // the channel was deleted meanwhile
	}
	return err
}

// StatusMonitorList lists the status monitors.
func (h *Handler) StatusMonitorList(ctx context.Context, _ adminapi.StatusMonitorListRequestObject) (adminapi.StatusMonitorListResponseObject, error) {
	rows, err := h.Queries.StatusMonitorList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	out := adminapi.StatusMonitorList200JSONResponse{Items: make([]adminapi.StatusMonitor, 0, len(rows))}
	for _, m := range rows {
		out.Items = append(out.Items, monitorOut(m))
	}
	return out, nil
}

// StatusMonitorCreate adds a monitor (every 300 s, public and enabled unless given).
func (h *Handler) StatusMonitorCreate(ctx context.Context, req adminapi.StatusMonitorCreateRequestObject) (adminapi.StatusMonitorCreateResponseObject, error) {
	b := req.Body
	p := db.StatusMonitorCreateParams{Name: b.Name, ChannelID: b.ChannelId, IntervalSeconds: 300, Public: true, Enabled: true}
	if b.Model != nil {
		p.Model = *b.Model
	}
	if b.IntervalSeconds != nil {
		v, err := int32Of("interval_seconds", *b.IntervalSeconds)
		if err != nil {
			return nil, err
		}
		p.IntervalSeconds = v
	}
	if b.Public != nil {
		p.Public = *b.Public
	}
	if b.Enabled != nil {
		p.Enabled = *b.Enabled
	}
	if err := h.channelExists(ctx, h.Pool, b.ChannelId); err != nil {
		return nil, err
	}
	m, err := h.Queries.StatusMonitorCreate(ctx, h.Pool, p)
	if err != nil {
		return nil, monitorWriteErr(err)
	}
	return adminapi.StatusMonitorCreate201JSONResponse(monitorOut(m)), nil
}

// StatusMonitorGet reads a monitor.
func (h *Handler) StatusMonitorGet(ctx context.Context, req adminapi.StatusMonitorGetRequestObject) (adminapi.StatusMonitorGetResponseObject, error) {
	m, err := h.Queries.StatusMonitorGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, monitorNotFound)
	}
	return adminapi.StatusMonitorGet200JSONResponse(monitorOut(m)), nil
}

// StatusMonitorUpdate changes the fields present.
func (h *Handler) StatusMonitorUpdate(ctx context.Context, req adminapi.StatusMonitorUpdateRequestObject) (adminapi.StatusMonitorUpdateResponseObject, error) {
	b := req.Body
	p := db.StatusMonitorUpdateParams{ID: req.Id, Name: b.Name, ChannelID: b.ChannelId, Model: b.Model,
		Public: b.Public, Enabled: b.Enabled}
	var err error
	if p.IntervalSeconds, err = int32Ptr("interval_seconds", b.IntervalSeconds); err != nil {
		return nil, err
	}
	if b.ChannelId != nil {
		if err := h.channelExists(ctx, h.Pool, *b.ChannelId); err != nil {
			return nil, err
		}
	}
	m, err := h.Queries.StatusMonitorUpdate(ctx, h.Pool, p)
	if err != nil {
		return nil, monitorWriteErr(err)
	}
	return adminapi.StatusMonitorUpdate200JSONResponse(monitorOut(m)), nil
}

// StatusMonitorDelete removes a monitor and its history.
func (h *Handler) StatusMonitorDelete(ctx context.Context, req adminapi.StatusMonitorDeleteRequestObject) (adminapi.StatusMonitorDeleteResponseObject, error) {
	n, err := h.Queries.StatusMonitorDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, monitorNotFound)
	}
	return adminapi.StatusMonitorDelete204Response{}, nil
}

// StatusMonitorCheck checks a monitor now and records the result.
func (h *Handler) StatusMonitorCheck(ctx context.Context, req adminapi.StatusMonitorCheckRequestObject) (adminapi.StatusMonitorCheckResponseObject, error) {
	m, err := h.Queries.StatusMonitorGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, monitorNotFound)
	}
	if m, err = h.Accounts.CheckMonitor(ctx, m); err != nil {
		return nil, err
	}
	return adminapi.StatusMonitorCheck200JSONResponse(monitorOut(m)), nil
}
