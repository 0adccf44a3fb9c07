// Package wire converts database rows shared by several contracts to their wire types.
package wire

import (
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/gen/db"
)

// User converts a user row; the password hash never leaves.
func User(u *db.User) commonapi.User {
	tier := commonapi.UserTier(u.Tier)
	trust := int(u.TrustLevel)
	return commonapi.User{
		Id: u.ID, Username: u.Username, Role: commonapi.UserRole(u.Role), Status: commonapi.UserStatus(u.Status),
		Balance: u.Balance, UsedQuota: u.UsedQuota, RequestCount: u.RequestCount, CreatedAt: u.CreatedAt,
		Tier: &tier, PlanExpiresAt: Opt(u.PlanExpiresAt), GroupId: Opt(u.GroupID),
		Email: Opt(u.Email), TrustLevel: &trust, TotpEnabled: &u.TOTPEnabled,
	}
}
