package wire

import (
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/limits"
)

// Plan converts a plan and its limit rules (rules of other plans are skipped).
func Plan(p *db.Plan, rules []*db.LimitRule) commonapi.Plan {
	out := commonapi.Plan{Id: p.ID, Name: p.Name, Tier: commonapi.PlanTier(p.Tier), DurationDays: int(p.DurationDays),
		Quota: p.Quota, Price: p.Price, Description: p.Description, Enabled: p.Enabled, Limits: []commonapi.PlanLimit{},
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for _, r := range rules {
		if r.PlanID == nil || *r.PlanID != p.ID {
			continue
		}
		out.Limits = append(out.Limits, commonapi.PlanLimit{Model: r.Model,
			Window: limits.FormatWindow(limits.FromRow(r).Window), Requests: Opt(r.Requests), Tokens: Opt(r.Tokens), Concurrency: Opt(r.Concurrency)})
	}
	return out
}

// Plans converts plans with their limit rules (PlanLimitList of PlanIDs).
func Plans(rows []*db.Plan, rules []*db.LimitRule) []commonapi.Plan {
	out := make([]commonapi.Plan, 0, len(rows))
	for _, p := range rows {
		out = append(out, Plan(p, rules))
	}
	return out
}

// PlanIDs are the plans' ids.
func PlanIDs(rows []*db.Plan) []int64 {
	ids := make([]int64, len(rows))
	for i, p := range rows {
		ids[i] = p.ID
	}
	return ids
}

// Subscription converts one grant of a plan.
func Subscription(s *db.Subscription) commonapi.Subscription {
	return commonapi.Subscription{Id: s.ID, PlanId: Null(s.PlanID), PlanName: s.PlanName, Tier: commonapi.PlanTier(s.Tier),
		Source: commonapi.SubscriptionSource(s.Source), Kind: commonapi.SubscriptionKind(s.Kind), StartsAt: s.StartsAt,
		ExpiresAt: s.ExpiresAt, Quota: s.Quota, CreatedAt: s.CreatedAt}
}

// ModelPrice converts a resolved price.
func ModelPrice(name string, p billing.Price) commonapi.ModelPrice {
	out := commonapi.ModelPrice{Name: name, InputPrice: p.Input, OutputPrice: p.Output, CachedInputPrice: p.CachedInput,
		CacheWrite5mPrice: p.CacheWrite5m, CacheWrite1hPrice: p.CacheWrite1h, ReasoningPrice: p.Reasoning,
		PerCallPrice: p.PerCall, ImagePrice: p.PerImage}
	out.PromptTier.SetNull()
	if t := p.Tier; t != nil {
		out.PromptTier.Set(struct {
			AboveTokens       int64 `json:"above_tokens"`
			CacheWrite1hPrice int64 `json:"cache_write_1h_price"`
			CacheWrite5mPrice int64 `json:"cache_write_5m_price"`
			CachedInputPrice  int64 `json:"cached_input_price"`
			InputPrice        int64 `json:"input_price"`
			OutputPrice       int64 `json:"output_price"`
			ReasoningPrice    int64 `json:"reasoning_price"`
		}{AboveTokens: p.TierAbove, CacheWrite1hPrice: t.CacheWrite1h, CacheWrite5mPrice: t.CacheWrite5m,
			CachedInputPrice: t.CachedInput, InputPrice: t.Input, OutputPrice: t.Output, ReasoningPrice: t.Reasoning})
	}
	return out
}
