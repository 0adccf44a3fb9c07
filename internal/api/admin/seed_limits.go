package admin

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/store"
)

// seedLimit is one of seed 000's built-in limiter settings: `<name>_window` and `<name>_limit`
// stand for the per-user rule on the models whose name contains the name (docs/limits.md).
type seedLimit struct {
	name   string
	window string
	limit  int64
}

// seedLimits reads the seed settings from their rules ("" and 0 when off).
func (h *Handler) seedLimits(ctx context.Context) (map[string]seedLimit, error) {
	rows, err := h.Queries.LimitRuleSeedList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	out := map[string]seedLimit{}
	for _, r := range rows {
		if r.Requests != nil {
			out[r.Source] = seedLimit{name: r.Source, window: limits.FormatWindow(time.Duration(r.WindowMs) * time.Millisecond),
				limit: *r.Requests}
		}
	}
	return out, nil
}

// withSeedLimits fills the seed settings of an answer.
func (h *Handler) withSeedLimits(ctx context.Context, s adminapi.Settings) (adminapi.Settings, error) {
	m, err := h.seedLimits(ctx)
	if err != nil {
		return s, err
	}
	s.FlashWindow, s.FlashLimit = m["flash"].window, m["flash"].limit
	s.ThinkWindow, s.ThinkLimit = m["think"].window, m["think"].limit
	s.ProWindow, s.ProLimit = m["pro"].window, m["pro"].limit
	return s, nil
}

// seedChange is a seed setting's new state.
type seedChange struct {
	name     string
	windowMs int64 // 0: the rule is off
	limit    int64
}

// seedChanges validates the seed settings of an update against their current state: a limit
// needs a window (given now or before); a limit of 0 turns the rule off.
func (h *Handler) seedChanges(ctx context.Context, b *adminapi.SettingsUpdate) ([]seedChange, error) {
	type in struct {
		name   string
		window *string
		limit  *int64
	}
	ins := []in{{"flash", b.FlashWindow, b.FlashLimit}, {"think", b.ThinkWindow, b.ThinkLimit}, {"pro", b.ProWindow, b.ProLimit}}
	var cur map[string]seedLimit
	var out []seedChange
	for _, x := range ins {
		if x.window == nil && x.limit == nil {
			continue
		}
		if cur == nil {
			var err error
			if cur, err = h.seedLimits(ctx); err != nil {
				return nil, err
			}
		}
		s := cur[x.name]
		if x.window != nil {
			s.window = *x.window
		}
		if x.limit != nil {
			s.limit = *x.limit
		}
		c := seedChange{name: x.name, limit: s.limit}
		if s.window != "" {
			d, err := limits.ParseWindow(s.window)
			if err != nil {
				return nil, fault.New(fault.Invalid, x.name+"_window: "+err.Error())
			}
			c.windowMs = d.Milliseconds()
		}
		if c.limit > 0 && c.windowMs == 0 {
			return nil, fault.New(fault.Invalid, x.name+"_window: a window is needed with "+x.name+"_limit")
		}
		if c.limit == 0 {
			c.windowMs = 0
		}
		out = append(out, c)
	}
	return out, nil
}

// applySeedChanges writes the seed settings' rules in one transaction and tells every instance.
func (h *Handler) applySeedChanges(ctx context.Context, cs []seedChange) error {
	if len(cs) == 0 {
		return nil
	}
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		for _, c := range cs {
			if c.windowMs == 0 {
				if err := h.Queries.LimitRuleSeedDelete(ctx, tx, c.name); err != nil {
					return err
				}
				continue
			}
			if _, err := h.Queries.LimitRuleSeedSet(ctx, tx, db.LimitRuleSeedSetParams{Model: "*" + c.name + "*",
				WindowMs: c.windowMs, Requests: &c.limit, Source: c.name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.Bus.Publish(ctx, limits.Topic, "")
	return nil
}
