package billing_test

import (
	"testing"

	"github.com/poolgate/poolgate/internal/billing"
)

// sink keeps the compiler from discarding the benchmarked calls.
var sink int64

// BenchmarkCost prices one call, as the gateway does once per request.
func BenchmarkCost(b *testing.B) {
	cases := []struct {
		name string
		p    billing.Price
		u    billing.Usage
	}{
		{"typical", billing.Price{Input: 150_000, Output: 600_000, CachedInput: 75_000},
			billing.Usage{PromptTokens: 1200, CompletionTokens: 350, CachedTokens: 800}},
		{"no_cache", billing.Price{Input: 3_000_000, Output: 15_000_000, CachedInput: 3_000_000},
			billing.Usage{PromptTokens: 9, CompletionTokens: 4}},
		{"saturating", billing.Price{Input: 1 << 62, Output: 1 << 62, CachedInput: 1 << 62},
			billing.Usage{PromptTokens: 1 << 40, CompletionTokens: 1 << 40}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var s int64
			for b.Loop() {
				s += billing.Cost(c.p, c.u)
			}
			sink = s
		})
	}
}
