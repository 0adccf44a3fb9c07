package relay

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/store"
)

// Caller is who a gateway call is charged to, resolved by the API layer from the credential the
// caller presented (Authenticate for an API key). The relay reads the user's balance, tier, group
// and multiplier from it; Token is the credential as the hooks see it (their userToken).
type Caller struct {
	KeyID int64 // the API key the call came with
	Token string
	user  *userState
	// limits are the key's restrictions (nil: none, e.g. a share link's caller).
	limits *keyLimits
}

// AllowsAddr reports whether the caller's key may be used from remoteAddr (the connection's
// peer, http.Request.RemoteAddr).
func (c Caller) AllowsAddr(remoteAddr string) bool { return c.limits.allowsAddr(remoteAddr) }

// ErrAddrNotAllowed is the fault for a key used from an address outside its allow-list.
var ErrAddrNotAllowed = errKeyIP

// UserID is the user the call is charged to.
func (c Caller) UserID() int64 { return c.user.id }

// Authenticate resolves an API key to its caller. It returns an Unauthorized fault for unknown or
// disabled keys and a Forbidden one for disabled users.
func (rl *Relay) Authenticate(ctx context.Context, key string) (Caller, error) {
	cl, err := rl.keys.lookup(ctx, key, time.Now())
	if err != nil {
		return Caller{}, err
	}
	cl.Token = key
	return cl, nil
}

// userState is a user as the gateway sees it: its balance is the database balance at load time
// minus everything this instance has charged since (queued or written). Calls read it while a
// reload (set) replaces it: the counters are atomics, and the rest is an immutable profile
// swapped whole.
type userState struct {
	id      int64
	balance atomic.Int64
	pending *atomic.Int64 // shared with keyCache.pending: survives reloads of the user
	// grants (balance + used quota) and used are the database's, read together at load: what the
	// ledger reserves against (ledger.go).
	grants, used atomic.Int64
	prof         atomic.Pointer[userProfile]
}

// userProfile is what a user's row says about their calls, as of the last load.
type userProfile struct {
	status string
	// tier is the user's grant until planExpires (nil: no expiry); free afterwards.
	tier        pool.Tier
	planExpires *time.Time
	// plan is the user's plan (0: none); its limit rules apply until planExpires.
	plan int64
	// trust is the user's trust level (0–4); the settings may require a level per tier.
	trust int16
	// group is the user's group (0: none); multiplier its price multiplier in thousandths.
	group      int64
	multiplier int64
	// prefer is the account the user asked for at /logintoken (0: none).
	prefer int64
	// sharedFirst: the user's account_priority is shared_first (docs/accounts.md).
	sharedFirst bool
}

// noProfile is the profile of a user not loaded yet: no status, so every call is refused.
var noProfile userProfile

// p is the user's current profile.
func (u *userState) p() *userProfile {
	if p := u.prof.Load(); p != nil {
		return p
	}
	return &noProfile
}

// tierAt is the user's effective tier at now: an expired plan rides free accounts only, and a
// tier whose trust level (settings pro_min_trust_level, ultra_min_trust_level) the user lacks is
// lowered to the highest one their level allows.
func (u *userState) tierAt(now time.Time, v *settings.Values) pool.Tier {
	p := u.p()
	if p.planExpires != nil && !now.Before(*p.planExpires) {
		return pool.TierFree
	}
	t := p.tier
	if t >= pool.TierUltra && int(p.trust) < v.UltraMinTrustLevel {
		t = pool.TierPro
	}
	if t >= pool.TierPro && int(p.trust) < v.ProMinTrustLevel {
		t = pool.TierFree
	}
	return t
}

// planAt is the user's running plan at now (0: none, or expired).
func (u *userState) planAt(now time.Time) int64 {
	p := u.p()
	if p.planExpires != nil && !now.Before(*p.planExpires) {
		return 0
	}
	return p.plan
}

type keyEntry struct {
	keyID   int64
	active  bool
	user    *userState
	limits  *keyLimits
	expires time.Time
}

// keyCache resolves API keys to callers without a database round trip on a hit. Entries expire
// after ttl and are dropped at once when a key or user changes on any instance (bus).
type keyCache struct {
	pool *pgxpool.Pool
	q    *db.Queries
	ttl  time.Duration

	mu      sync.RWMutex
	keys    map[[32]byte]*keyEntry
	users   map[int64]*userState
	pending map[int64]*atomic.Int64 // quota queued but not yet written, per user
	// sessionUsers are users calling with a session (sessions.go).
	sessionUsers map[int64]*userEntry
}

func newKeyCache(pool *pgxpool.Pool, q *db.Queries, b *bus.Bus, ttl time.Duration) *keyCache {
	k := &keyCache{pool: pool, q: q, ttl: ttl, keys: map[[32]byte]*keyEntry{}, users: map[int64]*userState{},
		pending: map[int64]*atomic.Int64{}}
	b.Subscribe(bus.TopicKey, func(p string) { k.drop(p, func(e *keyEntry, id int64) bool { return e.keyID == id }) })
	b.Subscribe(bus.TopicUser, func(p string) {
		k.drop(p, func(e *keyEntry, id int64) bool { return e.user.id == id })
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			k.mu.Lock()
			delete(k.users, id)
			delete(k.sessionUsers, id)
			k.mu.Unlock()
		}
	})
	return k
}

func (k *keyCache) drop(payload string, match func(*keyEntry, int64) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil { // empty payload: flush everything
		k.keys = map[[32]byte]*keyEntry{}
		k.users = map[int64]*userState{}
		k.sessionUsers = nil
		return
	}
	for h, e := range k.keys {
		if match(e, id) {
			delete(k.keys, h)
		}
	}
}

var errBadKey = fault.Code(fault.Unauthorized, "invalid_api_key", "Incorrect API key provided.")

// lookup resolves a key. It returns errBadKey for unknown or disabled keys and a forbidden fault
// for disabled users.
func (k *keyCache) lookup(ctx context.Context, key string, now time.Time) (Caller, error) {
	h := auth.KeyDigest(key)
	k.mu.RLock()
	e := k.keys[h]
	k.mu.RUnlock()
	if e == nil || now.After(e.expires) {
		var err error
		if e, err = k.load(ctx, h, now); err != nil {
			return Caller{}, err
		}
	}
	if !e.active {
		return Caller{}, errBadKey
	}
	if e.limits.expired(now) {
		return Caller{}, errKeyExpired
	}
	if err := e.user.refused(); err != nil {
		return Caller{}, err
	}
	return Caller{KeyID: e.keyID, user: e.user, limits: e.limits}, nil
}

func (k *keyCache) load(ctx context.Context, h [32]byte, now time.Time) (*keyEntry, error) {
	row, err := k.q.APIKeyAuth(ctx, k.pool, h[:])
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, errBadKey
		}
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	u := k.userLocked(row.UserID)
	u.set(db.UserGatewayStateRow{UserID: row.UserID, UserStatus: row.UserStatus, Balance: row.Balance, UserUsedQuota: row.UserUsedQuota,
		UserTier:      row.UserTier,
		PlanExpiresAt: row.PlanExpiresAt, GroupID: row.GroupID, PreferredAccountID: row.PreferredAccountID,
		TrustLevel: row.TrustLevel, MultiplierPermille: row.MultiplierPermille, AccountPriority: row.AccountPriority,
		PlanID: row.PlanID})
	e := &keyEntry{keyID: row.KeyID, active: row.KeyStatus == auth.StatusActive, user: u, limits: newKeyLimits(row),
		expires: now.Add(k.ttl)}
	k.keys[h] = e
	return e, nil
}

func (k *keyCache) pendingLocked(user int64) *atomic.Int64 {
	p := k.pending[user]
	if p == nil {
		p = new(atomic.Int64)
		k.pending[user] = p
	}
	return p
}

// charge takes quota off the user's cached balance and counts it as pending until written.
func (k *keyCache) charge(u *userState, quota int64) {
	if quota == 0 {
		return
	}
	u.pending.Add(quota)
	u.balance.Add(-quota)
}

// settled is called when records are written: their quota is no longer pending.
func (k *keyCache) settled(user int64, quota int64) {
	if quota == 0 {
		return
	}
	k.mu.Lock()
	p := k.pendingLocked(user)
	k.mu.Unlock()
	p.Add(-quota)
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
