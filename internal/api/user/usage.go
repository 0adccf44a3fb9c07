package user

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/usage"
)

func (h *Handler) usage() *usage.Reader { return &usage.Reader{DB: h.Pool, Queries: h.Queries} }

// UsageLogUserList returns a page of the caller's own usage logs.
func (h *Handler) UsageLogUserList(ctx context.Context, req userapi.UsageLogUserListRequestObject) (userapi.UsageLogUserListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	q := req.Params
	var class *string
	if q.StatusClass != nil {
		s := string(*q.StatusClass)
		class = &s
	}
	limit := 50
	if q.Limit != nil {
		limit = *q.Limit
	}
	page, err := h.usage().List(ctx, usage.Filter{UserID: &p.UserID, APIKeyID: q.ApiKeyId, ChannelID: q.ChannelId,
		AccountID: q.AccountId, Model: q.Model, RequestID: q.RequestId, StatusClass: class, From: q.From, To: q.To},
		q.Cursor, limit)
	if err != nil {
		return nil, err
	}
	return userapi.UsageLogUserList200JSONResponse(wire.UsageLogPage(page)), nil
}

// UsageStatsUserGet aggregates the caller's own usage.
func (h *Handler) UsageStatsUserGet(ctx context.Context, req userapi.UsageStatsUserGetRequestObject) (userapi.UsageStatsUserGetResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	q := req.Params
	sq := usage.StatsQuery{Filter: usage.Filter{UserID: &p.UserID, APIKeyID: q.ApiKeyId, Model: q.Model, From: q.From, To: q.To}}
	if q.GroupBy != nil {
		sq.GroupBy = string(*q.GroupBy)
	}
	if q.Tz != nil {
		sq.TZ = *q.Tz
	}
	s, err := h.usage().Stats(ctx, sq)
	if err != nil {
		return nil, err
	}
	return userapi.UsageStatsUserGet200JSONResponse(wire.Stats(s)), nil
}

// AnnouncementUserList lists the announcements shown now to the caller.
func (h *Handler) AnnouncementUserList(ctx context.Context, _ userapi.AnnouncementUserListRequestObject) (userapi.AnnouncementUserListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	audiences := []string{"all", "users"}
	if p.Role == auth.RoleAdmin {
		audiences = append(audiences, "admins")
	}
	rows, err := h.Queries.AnnouncementActive(ctx, h.Pool, db.AnnouncementActiveParams{Audiences: audiences})
	if err != nil {
		return nil, err
	}
	return userapi.AnnouncementUserList200JSONResponse(wire.Announcements(rows)), nil
}
