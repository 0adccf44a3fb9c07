package relay

import (
	"context"
	"time"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/store"
)

// SessionCaller is the caller of a call made with a signed-in session (its JWT or cookie)
// instead of an API key, as the API layer resolved it (auth.Service.ResolveSession): charged to
// the user, with no key. ref names the session for the hooks (never the session's secret).
func (rl *Relay) SessionCaller(ctx context.Context, uid int64, ref string) (Caller, error) {
	u, err := rl.keys.user(ctx, uid, time.Now())
	if err != nil {
		return Caller{}, err
	}
	if err := u.refused(); err != nil {
		return Caller{}, err
	}
	return Caller{Token: ref, user: u}, nil
}

// refused is the gateway's answer to a user who may not call it: disabled (their keys and
// sessions stop) or muted (signed in, but no calls).
func (u *userState) refused() error {
	switch u.p().status {
	case auth.StatusActive:
		return nil
	case auth.StatusMuted:
		return fault.Code(fault.Forbidden, "user_muted", "this account is muted: it may not call the gateway")
	default:
		return fault.Code(fault.Forbidden, "user_disabled", "this account is disabled")
	}
}

// set refreshes the user from the database (its balance less what this instance has charged
// that is not written yet); the cache's lock is held.
func (u *userState) set(row db.UserGatewayStateRow) {
	u.prof.Store(&userProfile{status: row.UserStatus, tier: pool.ParseTier(row.UserTier), planExpires: row.PlanExpiresAt,
		trust: row.TrustLevel, group: deref(row.GroupID), prefer: deref(row.PreferredAccountID), plan: deref(row.PlanID),
		multiplier: int64(row.MultiplierPermille), sharedFirst: row.AccountPriority == "shared_first"})
	u.balance.Store(row.Balance - u.pending.Load())
	u.grants.Store(row.Balance + row.UserUsedQuota)
	u.used.Store(row.UserUsedQuota)
}

// userEntry is a session user in the cache, kept like a key entry: until ttl or an invalidation
// of the user.
type userEntry struct {
	user    *userState
	expires time.Time
}

// user resolves a user for a session caller: from the cache, else one query.
func (k *keyCache) user(ctx context.Context, uid int64, now time.Time) (*userState, error) {
	k.mu.RLock()
	e := k.sessionUsers[uid]
	k.mu.RUnlock()
	if e != nil && now.Before(e.expires) {
		return e.user, nil
	}
	row, err := k.q.UserGatewayState(ctx, k.pool, uid)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, errBadKey
		}
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	u := k.userLocked(uid)
	u.set(*row)
	if k.sessionUsers == nil {
		k.sessionUsers = map[int64]*userEntry{}
	}
	k.sessionUsers[uid] = &userEntry{user: u, expires: now.Add(k.ttl)}
	return u, nil
}

// userLocked is the cached state of a user, made when missing; the cache's lock is held.
func (k *keyCache) userLocked(uid int64) *userState {
	u := k.users[uid]
	if u == nil {
		u = &userState{id: uid, pending: k.pendingLocked(uid)}
		k.users[uid] = u
	}
	return u
}
