// Package billing prices gateway calls in integer quota units and records them: usage records
// go through a bounded queue to a batch writer that logs and charges each call exactly once.
package billing

import (
	"math/bits"

	"github.com/poolgate/poolgate/internal/translate"
)

// Price is a model's price. Token prices are quota units per million tokens and are resolved:
// every field is the price charged (FromModel fills the defaults a model leaves unset: cached
// input and cache writes at the input price, reasoning at the output price).
type Price struct {
	Input       int64
	Output      int64
	CachedInput int64
	// CacheWrite5m and CacheWrite1h price input tokens written to 5-minute and 1-hour prompt
	// caches (Claude).
	CacheWrite5m int64
	CacheWrite1h int64
	// Reasoning prices the output tokens spent reasoning.
	Reasoning int64
	// PerCall is charged once per charged call, PerImage once per generated image (quota units).
	PerCall  int64
	PerImage int64
	// Tier, when set, holds the token prices of a call whose prompt exceeds TierAbove tokens; they
	// then apply to all its tokens. Tier's own PerCall, PerImage and Tier are ignored.
	TierAbove int64
	Tier      *Price
	// OutputCap is the most output tokens one call can produce (0: not configured): a call that
	// asks for no maximum reserves this many output tokens before it starts. It prices nothing.
	OutputCap int64
}

// Usage is the one usage type: what an upstream reported for one call, as every protocol's
// decoder fills it (translate.Usage), priced by Cost.
type Usage = translate.Usage

// Cost prices usage:
//
//	ceil((uncached×input + cached×cachedInput + write5m×cacheWrite5m + write1h×cacheWrite1h +
//	      (completion−reasoning)×output + reasoning×reasoningPrice) / 1e6)
//	+ perCall + images×perImage
//
// in 128-bit arithmetic so no realistic price or token count overflows. When the price has a tier
// and the prompt exceeds its threshold, the tier's token prices are used. Negative counts and
// prices are treated as zero; cached tokens, then 5-minute, then 1-hour cache writes are capped at
// the prompt tokens not yet accounted for, reasoning tokens at the completion tokens. The result
// saturates at MaxInt64.
func Cost(p Price, u Usage) int64 {
	prompt, completion, cached := nonNeg(u.PromptTokens), nonNeg(u.CompletionTokens), nonNeg(u.CachedTokens)
	tp := &p
	if p.Tier != nil && prompt > nonNeg(p.TierAbove) {
		tp = p.Tier
	}
	cached = min(cached, prompt)
	w5 := min(nonNeg(u.CacheWrite5mTokens), prompt-cached)
	w1 := min(nonNeg(u.CacheWrite1hTokens), prompt-cached-w5)
	reasoning := min(nonNeg(u.ReasoningTokens), completion)
	var s sum128
	s.add(prompt-cached-w5-w1, nonNeg(tp.Input))
	s.add(cached, nonNeg(tp.CachedInput))
	s.add(w5, nonNeg(tp.CacheWrite5m))
	s.add(w1, nonNeg(tp.CacheWrite1h))
	s.add(completion-reasoning, nonNeg(tp.Output))
	s.add(reasoning, nonNeg(tp.Reasoning))
	// ceil division by 1e6
	s.add(1, 999_999)
	const million = 1_000_000
	if s.hi >= million {
		return maxCost
	}
	q, _ := bits.Div64(s.hi, s.lo, million)
	var f sum128
	f.add(q, 1)
	f.add(1, nonNeg(p.PerCall))
	f.add(nonNeg(u.Images), nonNeg(p.PerImage))
	if f.hi != 0 || f.lo > uint64(maxCost) {
		return maxCost
	}
	return int64(f.lo) //nolint:gosec // checked above
}

// sum128 accumulates products in 128 bits. Cost's sums stay below 2^127: the input terms split
// at most MaxInt64 prompt tokens and the output terms at most MaxInt64 completion tokens, each at
// prices below 2^63.
type sum128 struct{ hi, lo uint64 }

func (s *sum128) add(a, b uint64) {
	h, l := bits.Mul64(a, b)
	var c uint64
	s.lo, c = bits.Add64(s.lo, l, 0)
	s.hi, _ = bits.Add64(s.hi, h, c)
}

func nonNeg(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}
