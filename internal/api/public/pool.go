package public

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/store"
)

// Paging of /carpage.
const (
	carPageDefaultSize = 10
	carPageMaxSize     = 100
	carPageMaxPage     = 1_000_000
)

// CarPageList pages the shared accounts (seed 000 /carpage).
func (h *Handler) CarPageList(ctx context.Context, req publicapi.CarPageListRequestObject) (publicapi.CarPageListResponseObject, error) {
	pg, size := 1, carPageDefaultSize
	if b := req.Body; b != nil {
		if b.Page != nil {
			pg = min(max(*b.Page, 1), carPageMaxPage)
		}
		if b.Size != nil {
			size = min(max(*b.Size, 1), carPageMaxSize)
		}
	}
	total, err := h.Queries.AccountCountPublic(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	rows, err := h.Queries.AccountListPublic(ctx, h.Pool, db.AccountListPublicParams{
		Off: int32((pg - 1) * size), Lim: int32(size)}) //nolint:gosec // bounded above: at most 1e8
	if err != nil {
		return nil, err
	}
	out := publicapi.CarPageList200JSONResponse{Code: 0, Messages: "success", Notice: h.Settings.Get().CarpageNotice,
		Data: publicapi.CarPageData{Accounts: make([]publicapi.CarPageAccount, 0, len(rows)), Total: total, Page: pg, Size: size}}
	for _, a := range rows {
		out.Data.Accounts = append(out.Data.Accounts, publicapi.CarPageAccount{Id: a.ID, Name: a.Name, Nickname: a.Nickname,
			Type: publicapi.CarPageAccountType(pool.ParseTier(a.Tier).String()), Disabled: !routable(a.Status)})
	}
	return out, nil
}

// routable reports whether an account status keeps it in rotation.
func routable(status string) bool { return status == pool.StatusActive || status == pool.StatusCooling }

// carState is a shared account's state for /status and /endpoint.
type carState struct {
	tier  pool.Tier
	ready bool
	state pool.State
}

var errCarNotFound = errors.New("account not found")

func (h *Handler) carState(ctx context.Context, ref string) (carState, error) {
	a, err := h.Queries.AccountFindPublic(ctx, h.Pool, ref)
	if err != nil {
		if err = store.Translate(err, "account not found"); fault.Is(err, fault.NotFound) {
			return carState{}, errCarNotFound
		}
		return carState{}, err
	}
	limits, _ := pool.ParseLimits(a.Limits) // malformed limits are reported when routing
	st := h.Accounts.StateOf(ctx, a.ID, limits)
	return carState{tier: pool.ParseTier(a.Tier), state: st,
		ready: routable(a.Status) && a.ChannelStatus == "active" && st.CoolingUntil.IsZero()}, nil
}

// secondsUntil rounds the time left until t up to whole seconds (0 when past or zero).
func secondsUntil(t, now time.Time) int64 {
	if t.IsZero() || !t.After(now) {
		return 0
	}
	return int64(math.Ceil(t.Sub(now).Seconds()))
}

// CarStatusGet reports one shared account's state (seed 000 /status).
func (h *Handler) CarStatusGet(ctx context.Context, req publicapi.CarStatusGetRequestObject) (publicapi.CarStatusGetResponseObject, error) {
	cs, err := h.carState(ctx, req.Params.Carid)
	if errors.Is(err, errCarNotFound) {
		return publicapi.CarStatusGet404JSONResponse{Code: -1, Msg: err.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	now := h.Accounts.Now()
	return publicapi.CarStatusGet200JSONResponse{IsPlus: cs.tier > pool.TierFree, AccountReady: cs.ready,
		Count: cs.state.Count, ClearsIn: secondsUntil(cs.state.WindowReset, now),
		TeamClearsIn: secondsUntil(cs.state.CoolingUntil, now)}, nil
}

// CarBadgeGet renders one shared account's state as a Shields.io badge (seed 000 /endpoint).
func (h *Handler) CarBadgeGet(ctx context.Context, req publicapi.CarBadgeGetRequestObject) (publicapi.CarBadgeGetResponseObject, error) {
	b := publicapi.CarBadgeGet200JSONResponse{SchemaVersion: publicapi.N1, Label: h.Settings.Get().SiteName + " Status"}
	cs, err := h.carState(ctx, req.Params.Carid)
	switch {
	case errors.Is(err, errCarNotFound):
		b.Message, b.Color = publicapi.BadgeMessageUnknown, publicapi.Lightgrey
	case err != nil:
		return nil, err
	case cs.ready:
		b.Message, b.Color = publicapi.BadgeMessageReady, publicapi.Green
	case !cs.state.CoolingUntil.IsZero():
		b.Message, b.Color = publicapi.BadgeMessageCooling, publicapi.Yellow
	default:
		b.Message, b.Color = publicapi.BadgeMessageUnavailable, publicapi.Red
	}
	return b, nil
}

// StatusPageGet lists the public status monitors with their last check, 24-hour uptime and the
// checks of each of the last 24 hours.
func (h *Handler) StatusPageGet(ctx context.Context, _ publicapi.StatusPageGetRequestObject) (publicapi.StatusPageGetResponseObject, error) {
	now := h.Accounts.Now()
	rows, err := h.Queries.StatusMonitorListPublic(ctx, h.Pool, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	first := now.UTC().Truncate(time.Hour).Add(-23 * time.Hour)
	hours, err := h.Queries.StatusCheckHours(ctx, h.Pool, first)
	if err != nil {
		return nil, err
	}
	history := uptimeHours(first, hours)
	out := publicapi.StatusPageGet200JSONResponse{Monitors: make([]publicapi.StatusMonitorResult, 0, len(rows))}
	for _, m := range rows {
		r := publicapi.StatusMonitorResult{Id: m.ID, Name: m.Name, Status: publicapi.StatusMonitorResultStatus(m.LastStatus),
			Message: m.LastMessage, CheckedAt: m.LastCheckedAt}
		if m.LastLatencyMs != nil {
			l := int(*m.LastLatencyMs)
			r.LatencyMs = &l
		}
		if m.Checks > 0 {
			up := float32(math.Round(float64(m.ChecksUp)*1000/float64(m.Checks)) / 10)
			r.Uptime24h = &up
		}
		r.History = history(m.ID)
		out.Monitors = append(out.Monitors, r)
	}
	return out, nil
}

// uptimeHours returns each monitor's 24 hours from first (UTC, on the hour), oldest first, filled
// from the counted checks (hours without checks count zero).
func uptimeHours(first time.Time, rows []*db.StatusCheckHoursRow) func(id int64) []publicapi.UptimeHour {
	counted := map[int64]map[time.Time]*db.StatusCheckHoursRow{}
	for _, r := range rows {
		if counted[r.MonitorID] == nil {
			counted[r.MonitorID] = map[time.Time]*db.StatusCheckHoursRow{}
		}
		counted[r.MonitorID][r.Hour.UTC()] = r
	}
	return func(id int64) []publicapi.UptimeHour {
		out := make([]publicapi.UptimeHour, 24)
		for i := range out {
			start := first.Add(time.Duration(i) * time.Hour)
			out[i].Start = start
			if r := counted[id][start]; r != nil {
				out[i].Checks, out[i].Up = r.Checks, r.ChecksUp
			}
		}
		return out
	}
}

// ShareShapes renders errors of the share-server endpoints in their `{"code": -1, "msg"}` shape.
func ShareShapes() []httpx.ShapeRule {
	render := func(c echo.Context, status int, e *fault.Error, rid string) error {
		msg := e.Message
		if status >= http.StatusInternalServerError {
			msg = fault.MsgInternal + " (request id " + rid + ")"
			if e.Kind == fault.Unavailable {
				msg = "service temporarily unavailable"
			}
		}
		return c.JSON(status, publicapi.ShareError{Code: -1, Msg: msg})
	}
	return []httpx.ShapeRule{{Prefix: "/carpage", Render: render}, {Prefix: "/status", Render: render},
		{Prefix: "/endpoint", Render: render}}
}
