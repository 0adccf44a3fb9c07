package pool_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/pool"
)

// BenchmarkPlan selects accounts from a pool of 10,000 shared accounts in 20 channels of three
// priorities and mixed tiers, with 10% of the accounts cooling down and dedicated accounts for
// some users: the per-call cost of selection (the budget is 5 µs).
func BenchmarkPlan(b *testing.B) {
	p := pool.New(pool.Deps{})
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro"}
	specs := make([]pool.Spec, 0, 10_000)
	for i := range 10_000 {
		ch := int64(i%20 + 1)
		sp := pool.Spec{ID: int64(i + 1), ChannelID: ch, Models: models, Priority: int(ch % 3),
			Weight: 1 + i%4, ChannelWeight: 1, Tier: pool.Tier(1 + i%3)}
		if i%500 == 0 {
			sp.Owner = int64(i/500 + 1)
		}
		if i%40 == 0 {
			sp.MaxConcurrency = 2
		}
		specs = append(specs, sp)
	}
	s := p.Build(specs)
	ctx := b.Context()
	for i := 0; i < 10_000; i += 10 {
		p.Cool(ctx, int64(i+1), "gpt-4o", time.Now().Add(time.Hour))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			pl := p.Plan(s, pool.Request{Model: "gpt-4o", User: int64(i%50 + 1), Tier: pool.Tier(1 + i%3), Bound: int64(i%10_000 + 1)}, 6)
			if len(pl.Accounts) == 0 {
				panic(fmt.Sprintf("no accounts: %+v", pl))
			}
		}
	})
}

// BenchmarkPlanGroups is BenchmarkPlan with groups and keys: a quarter of the channels are
// restricted to one of two groups, some accounts are bound to API keys, and callers belong to
// either group or none and call with a key.
func BenchmarkPlanGroups(b *testing.B) {
	p := pool.New(pool.Deps{})
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro"}
	specs := make([]pool.Spec, 0, 10_000)
	for i := range 10_000 {
		ch := int64(i%20 + 1)
		sp := pool.Spec{ID: int64(i + 1), ChannelID: ch, Models: models, Priority: int(ch % 3),
			Weight: 1 + i%4, ChannelWeight: 1, Tier: pool.Tier(1 + i%3)}
		if ch%4 == 0 {
			sp.Groups = []int64{ch%8/4 + 1}
		}
		if i%500 == 1 {
			sp.Key = int64(i/500 + 1)
		}
		specs = append(specs, sp)
	}
	s := p.Build(specs)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			pl := p.Plan(s, pool.Request{Model: "gpt-4o", User: int64(i%50 + 1), Key: int64(i%40 + 1),
				Group: int64(i % 3), Tier: pool.Tier(1 + i%3)}, 6)
			if len(pl.Accounts) == 0 {
				panic(fmt.Sprintf("no accounts: %+v", pl))
			}
		}
	})
}
