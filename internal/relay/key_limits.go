package relay

import (
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
)

// keyLimits are an API key's restrictions, held in the key cache so checking them costs no
// database or Redis round trip. Zero values restrict nothing.
type keyLimits struct {
	models  []string       // the only models the key may call (nil: any)
	ips     []netip.Prefix // the only client addresses it is accepted from (nil: any)
	expires *time.Time     // when the key stops working (nil: never)
	// quota is the most quota units the key may spend (-1: no limit); spent is what it had spent
	// when loaded plus what this instance charged through it since.
	quota int64
	spent atomic.Int64
	// used is the key's used quota as loaded (the ledger's floor for its charges).
	used int64
}

func newKeyLimits(row *db.APIKeyAuthRow) *keyLimits {
	l := &keyLimits{models: row.KeyAllowedModels, ips: row.KeyAllowedIps, expires: row.KeyExpiresAt, quota: -1}
	if row.KeyQuotaLimit != nil {
		l.quota = *row.KeyQuotaLimit
	}
	l.spent.Store(row.KeyUsedQuota)
	l.used = row.KeyUsedQuota
	return l
}

var (
	errKeyExpired = fault.Code(fault.Unauthorized, "invalid_api_key", "This API key has expired.")
	errKeyIP      = fault.Code(fault.Forbidden, "ip_not_allowed", "This API key may not be used from this address.")
	errKeyQuota   = fault.Code(fault.PaymentRequired, "insufficient_quota", "This API key's quota is used up.")
)

// expired reports whether the key no longer works at now.
func (l *keyLimits) expired(now time.Time) bool {
	return l != nil && l.expires != nil && !now.Before(*l.expires)
}

// allowsAddr reports whether the key may be used from remoteAddr (an http.Request's RemoteAddr).
func (l *keyLimits) allowsAddr(remoteAddr string) bool {
	if l == nil || l.ips == nil {
		return true
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range l.ips {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// check refuses a call the key's restrictions forbid: a model outside its allow-list or a
// quota already spent.
func (l *keyLimits) check(model string) error {
	if l == nil {
		return nil
	}
	if l.models != nil && !slices.Contains(l.models, model) {
		return fault.Code(fault.Forbidden, "model_not_allowed", "This API key may not call model "+BoundName(model)+".")
	}
	if l.quota >= 0 && l.spent.Load() >= l.quota {
		return errKeyQuota
	}
	return nil
}

// charge counts quota spent through the key.
func (l *keyLimits) charge(quota int64) {
	if l != nil && quota != 0 {
		l.spent.Add(quota)
	}
}

// BoundName bounds a caller-supplied name repeated in an error message (128 bytes and an ellipsis).
func BoundName(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// VisibleModels keeps the models the caller's key may call (all of them without an allow-list),
// for the models lists.
func (c Caller) VisibleModels(ids []string) []string {
	if c.limits == nil || c.limits.models == nil {
		return ids
	}
	out := make([]string, 0, len(c.limits.models))
	for _, m := range ids {
		if slices.Contains(c.limits.models, m) {
			out = append(out, m)
		}
	}
	return out
}
