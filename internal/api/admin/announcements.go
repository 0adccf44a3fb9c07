package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

const announcementNotFound = "announcement not found"

func announcementWindow(b *adminapi.AnnouncementWrite) (audience string, err error) {
	if s, e := wire.Ptr(b.StartsAt), wire.Ptr(b.EndsAt); s != nil && e != nil && !s.Before(*e) {
		return "", fault.New(fault.Unprocessable, "ends_at must be after starts_at")
	}
	audience = "all"
	if b.Audience != nil {
		audience = string(*b.Audience)
	}
	return audience, nil
}

// AnnouncementList lists every announcement, newest first.
func (h *Handler) AnnouncementList(ctx context.Context, _ adminapi.AnnouncementListRequestObject) (adminapi.AnnouncementListResponseObject, error) {
	rows, err := h.Queries.AnnouncementList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	return adminapi.AnnouncementList200JSONResponse(wire.Announcements(rows)), nil
}

// AnnouncementCreate publishes an announcement.
func (h *Handler) AnnouncementCreate(ctx context.Context, req adminapi.AnnouncementCreateRequestObject) (adminapi.AnnouncementCreateResponseObject, error) {
	b := req.Body
	audience, err := announcementWindow(b)
	if err != nil {
		return nil, err
	}
	a, err := h.Queries.AnnouncementCreate(ctx, h.Pool, db.AnnouncementCreateParams{Title: b.Title, Content: b.Content,
		StartsAt: wire.Ptr(b.StartsAt), EndsAt: wire.Ptr(b.EndsAt), Audience: audience})
	if err != nil {
		return nil, err
	}
	return adminapi.AnnouncementCreate201JSONResponse(wire.Announcement(a)), nil
}

// AnnouncementUpdate replaces an announcement.
func (h *Handler) AnnouncementUpdate(ctx context.Context, req adminapi.AnnouncementUpdateRequestObject) (adminapi.AnnouncementUpdateResponseObject, error) {
	b := req.Body
	audience, err := announcementWindow(b)
	if err != nil {
		return nil, err
	}
	a, err := h.Queries.AnnouncementUpdate(ctx, h.Pool, db.AnnouncementUpdateParams{ID: req.Id, Title: b.Title,
		Content: b.Content, StartsAt: wire.Ptr(b.StartsAt), EndsAt: wire.Ptr(b.EndsAt), Audience: audience})
	if err != nil {
		return nil, store.Translate(err, announcementNotFound)
	}
	return adminapi.AnnouncementUpdate200JSONResponse(wire.Announcement(a)), nil
}

// AnnouncementDelete deletes an announcement.
func (h *Handler) AnnouncementDelete(ctx context.Context, req adminapi.AnnouncementDeleteRequestObject) (adminapi.AnnouncementDeleteResponseObject, error) {
	n, err := h.Queries.AnnouncementDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, announcementNotFound)
	}
	return adminapi.AnnouncementDelete204Response{}, nil
}
