package public

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
)

// AnnouncementPublicList lists the announcements shown now to everyone.
func (h *Handler) AnnouncementPublicList(ctx context.Context, _ publicapi.AnnouncementPublicListRequestObject) (publicapi.AnnouncementPublicListResponseObject, error) {
	rows, err := h.Queries.AnnouncementActive(ctx, h.Pool, db.AnnouncementActiveParams{Audiences: []string{"all"}})
	if err != nil {
		return nil, err
	}
	return publicapi.AnnouncementPublicList200JSONResponse(wire.Announcements(rows)), nil
}
