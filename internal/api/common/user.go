// Package common converts database rows shared by several contracts to their wire types.
package common

import (
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/gen/db"
)

// User converts a user row; the password hash never leaves.
func User(u *db.User) common.User {
	tier := common.UserTier(u.Tier)
	return common.User{
		Id: u.ID, Username: u.Username, Role: common.UserRole(u.Role), Status: common.UserStatus(u.Status),
		Balance: u.Balance, UsedQuota: u.UsedQuota, RequestCount: u.RequestCount, CreatedAt: u.CreatedAt,
		Tier: &tier, PlanExpiresAt: u.PlanExpiresAt, GroupId: u.GroupID,
	}
}
