package relay

import (
	"context"
	"slices"
	"time"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
)

// PricedModel is a model callers can use with its price; Multiplier is, in a user's catalog, all
// the user's multipliers together (thousandths, rounded up) on the channel that charges most
// for the model (1000 in the public prices).
type PricedModel struct {
	Name       string
	Price      billing.Price
	Multiplier int64
}

// Prices lists the priced models served by an active channel, sorted by name.
func (rl *Relay) Prices(ctx context.Context) ([]PricedModel, error) {
	snap, err := rl.routes.get(ctx)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	out := make([]PricedModel, 0, len(snap.models))
	for _, m := range snap.models {
		if p, ok := snap.prices[m]; ok {
			out = append(out, PricedModel{Name: m, Price: p, Multiplier: 1000})
		}
	}
	return out, nil
}

// Catalog lists the priced models a user can call — served by a channel that may serve them (not
// restricted to other groups, not dedicated to other users) — with the highest of their combined
// multipliers over those channels, and the user's group multiplier.
func (rl *Relay) Catalog(ctx context.Context, userID int64) (group int64, models []PricedModel, err error) {
	snap, err := rl.routes.get(ctx)
	if err != nil {
		return 0, nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	u, err := rl.keys.user(ctx, userID, time.Now())
	if err != nil {
		return 0, nil, err
	}
	worst := map[string]int64{}
	for _, ch := range snap.channels {
		if len(ch.groups) > 0 && !slices.Contains(ch.groups, u.p().group) {
			continue
		}
		if len(ch.users) > 0 && !slices.Contains(ch.users, u.id) {
			continue
		}
		for _, m := range ch.models {
			if _, ok := snap.prices[m]; !ok {
				continue
			}
			f := snap.mult.charge(1000, u, ch.id, m)
			if cur, ok := worst[m]; !ok || f > cur {
				worst[m] = f
			}
		}
	}
	for _, m := range snap.models {
		if f, ok := worst[m]; ok {
			models = append(models, PricedModel{Name: m, Price: snap.prices[m], Multiplier: f})
		}
	}
	return u.p().multiplier, models, nil
}

// Apply is the price with a multiplier (thousandths) applied to each of its prices, each rounded
// up to a whole unit: what the catalog shows as the effective price.
func Apply(p billing.Price, permille int64) billing.Price {
	m := func(v int64) int64 { return billing.Multiply(v, permille) }
	out := billing.Price{Input: m(p.Input), Output: m(p.Output), CachedInput: m(p.CachedInput),
		CacheWrite5m: m(p.CacheWrite5m), CacheWrite1h: m(p.CacheWrite1h), Reasoning: m(p.Reasoning),
		PerCall: m(p.PerCall), PerImage: m(p.PerImage), TierAbove: p.TierAbove}
	if p.Tier != nil {
		t := Apply(*p.Tier, permille)
		out.Tier = &t
	}
	return out
}
