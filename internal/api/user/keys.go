package user

import (
	"net/netip"
	"strings"

	"github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
)

// prefixes parses an IP allow-list: each entry an address (a one-address prefix) or a CIDR prefix.
func prefixes(in *[]string) ([]netip.Prefix, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(*in))
	for _, s := range *in {
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || !p.IsValid() || p.Addr().Zone() != "" {
			return nil, fault.New(fault.Invalid, "allowed_ips: "+s+" is not an IP address or CIDR prefix")
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func prefixStrings(ps []netip.Prefix) *[]string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return &out
}

func apiKey(k *db.APIKey) userapi.ApiKey {
	var models *[]string
	if k.AllowedModels != nil {
		models = &k.AllowedModels
	}
	return userapi.ApiKey{Id: k.ID, Name: k.Name, KeyHint: k.KeyHint, Status: userapi.ApiKeyStatus(k.Status),
		UsedQuota: k.UsedQuota, RequestCount: k.RequestCount, LastUsedAt: wire.Null(k.LastUsedAt), CreatedAt: k.CreatedAt,
		Description: k.Description, AllowedModels: wire.Null(models), QuotaLimit: wire.Null(k.QuotaLimit),
		ExpiresAt: wire.Null(k.ExpiresAt), AllowedIps: wire.Null(prefixStrings(k.AllowedIps))}
}

func secret(k *db.APIKey, key string) userapi.ApiKeySecret {
	a := apiKey(k)
	return userapi.ApiKeySecret{Id: a.Id, Name: a.Name, Key: key, KeyHint: a.KeyHint, Status: a.Status,
		UsedQuota: a.UsedQuota, RequestCount: a.RequestCount, LastUsedAt: a.LastUsedAt, CreatedAt: a.CreatedAt,
		Description: a.Description, AllowedModels: a.AllowedModels, QuotaLimit: a.QuotaLimit, ExpiresAt: a.ExpiresAt,
		AllowedIps: a.AllowedIps}
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

// createRestrictions fills a new key's optional fields.
func createRestrictions(p *db.APIKeyCreateParams, b *userapi.ApiKeyCreateRequest) error {
	ips, err := prefixes(wire.Ptr(b.AllowedIps))
	if err != nil {
		return err
	}
	if b.Description != nil {
		p.Description = *b.Description
	}
	p.AllowedModels, p.QuotaLimit, p.ExpiresAt, p.AllowedIps = deref(wire.Ptr(b.AllowedModels)), wire.Ptr(b.QuotaLimit),
		wire.Ptr(b.ExpiresAt), ips
	return nil
}

// updateRestrictions fills the changed fields of a key update: a restriction left out is kept,
// one sent as null is cleared.
func updateRestrictions(p *db.APIKeyUpdateParams, b *userapi.ApiKeyUpdateRequest) error {
	ips, err := prefixes(wire.Ptr(b.AllowedIps))
	if err != nil {
		return err
	}
	p.Description = b.Description
	models, setModels := wire.Change(b.AllowedModels)
	p.AllowedModels, p.SetAllowedModels = deref(models), setModels
	p.QuotaLimit, p.SetQuotaLimit = wire.Change(b.QuotaLimit)
	p.ExpiresAt, p.SetExpiresAt = wire.Change(b.ExpiresAt)
	p.AllowedIps, p.SetAllowedIps = ips, b.AllowedIps.IsSpecified()
	return nil
}
