package user

import (
	"context"
	"time"

	"github.com/oapi-codegen/nullable"

	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/quota"
)

// QuotaUserList answers the caller's shared quota per model family.
func (h *Handler) QuotaUserList(ctx context.Context, _ userapi.QuotaUserListRequestObject) (userapi.QuotaUserListResponseObject, error) {
	p, err := me(ctx)
	if err != nil {
		return nil, err
	}
	out, err := SharedQuotas(ctx, h.Quota, p.UserID)
	if err != nil {
		return nil, err
	}
	return userapi.QuotaUserList200JSONResponse(*out), nil
}

// SharedQuotas is a user's shared quota in the user contract's shape (also seed 001's
// /api/plugin-api/quotas/user).
func SharedQuotas(ctx context.Context, q *quota.Pool, user int64) (*userapi.SharedQuotaList, error) {
	sts, err := q.StatusOf(ctx, user)
	if err != nil {
		return nil, err
	}
	r := q.Rules()
	out := &userapi.SharedQuotaList{Unit: userapi.SharedQuotaListUnit(r.Unit), RecoveryHours: r.Recovery.Hours(),
		Items: make([]userapi.SharedQuota, 0, len(sts))}
	now := time.Now().UTC()
	for _, s := range sts {
		item := userapi.SharedQuota{Family: s.Family, Cap: s.Cap, Used: s.Used, Remaining: s.Remaining,
			SharedAccounts: s.SharedAccounts, BonusPerAccount: s.BonusPerAccount,
			FullIn: ceilSeconds(s.FullIn), ClearsIn: ceilSeconds(s.ClearsIn), NextFull: nullable.NewNullNullable[time.Time]()}
		if s.FullIn > 0 {
			item.NextFull.Set(now.Add(s.FullIn).Truncate(time.Second))
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
