package billing_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
)

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func TestCost(t *testing.T) {
	t.Parallel()
	const maxInt = math.MaxInt64
	full := billing.Price{Input: 3_000_000, CachedInput: 300_000, CacheWrite5m: 3_750_000, CacheWrite1h: 6_000_000,
		Output: 15_000_000, Reasoning: 20_000_000, PerCall: 50, PerImage: 1_000}
	tier := billing.Price{Input: 6_000_000, CachedInput: 600_000, CacheWrite5m: 7_500_000, CacheWrite1h: 12_000_000,
		Output: 22_500_000, Reasoning: 22_500_000}
	tiered := billing.Price{Input: 3_000_000, CachedInput: 300_000, CacheWrite5m: 3_750_000, CacheWrite1h: 6_000_000,
		Output: 15_000_000, Reasoning: 15_000_000, TierAbove: 200_000, Tier: &tier}
	tests := []struct {
		name  string
		price billing.Price
		usage billing.Usage
		want  int64
	}{
		{"Zero", billing.Price{Input: 3_000_000, Output: 7_000_000, CachedInput: 3_000_000}, billing.Usage{}, 0},
		{"ExactUnits", billing.Price{Input: 3_000_000, Output: 7_000_000, CachedInput: 3_000_000},
			billing.Usage{PromptTokens: 11, CompletionTokens: 5}, 11*3 + 5*7},
		{"CachedAtCachedPrice", billing.Price{Input: 3_000_000, Output: 7_000_000, CachedInput: 1_000_000},
			billing.Usage{PromptTokens: 11, CompletionTokens: 5, CachedTokens: 4}, 7*3 + 4*1 + 5*7},
		{"CachedFree", billing.Price{Input: 2_000_000, Output: 0, CachedInput: 0},
			billing.Usage{PromptTokens: 10, CachedTokens: 10}, 0},
		{"CachedCappedAtPrompt", billing.Price{Input: 5_000_000, Output: 0, CachedInput: 1_000_000},
			billing.Usage{PromptTokens: 10, CachedTokens: 50}, 10},
		{"CeilOneToken", billing.Price{Input: 1}, billing.Usage{PromptTokens: 1}, 1},
		{"CeilJustBelow", billing.Price{Input: 1}, billing.Usage{PromptTokens: 999_999}, 1},
		{"CeilExact", billing.Price{Input: 1}, billing.Usage{PromptTokens: 1_000_000}, 1},
		{"CeilJustAbove", billing.Price{Input: 1}, billing.Usage{PromptTokens: 1_000_001}, 2},
		// The sum is rounded once, not each part: 0.5 + 0.5 units is 1, not 2.
		{"CeilOfSum", billing.Price{Input: 500_000, Output: 500_000}, billing.Usage{PromptTokens: 1, CompletionTokens: 1}, 1},
		{"NegativeTokens", billing.Price{Input: 1_000_000, Output: 1_000_000, CachedInput: 1_000_000},
			billing.Usage{PromptTokens: -5, CompletionTokens: -7, CachedTokens: -1}, 0},
		{"NegativeCachedIgnored", billing.Price{Input: 2_000_000, CachedInput: 1_000_000},
			billing.Usage{PromptTokens: 10, CachedTokens: -3}, 20},
		{"NegativePrompt", billing.Price{Input: 1_000_000, Output: 2_000_000, CachedInput: 1_000_000},
			billing.Usage{PromptTokens: -10, CompletionTokens: 3, CachedTokens: 4}, 6},
		{"NegativePrices", billing.Price{Input: -1_000_000, Output: -1, CachedInput: -5},
			billing.Usage{PromptTokens: 10, CompletionTokens: 10, CachedTokens: 5}, 0},
		{"LargeButExact", billing.Price{Input: 1_000_000}, billing.Usage{PromptTokens: maxInt}, maxInt},
		{"JustOverflows", billing.Price{Input: 1_000_001}, billing.Usage{PromptTokens: maxInt}, maxInt},
		{"HugeSaturates", billing.Price{Input: maxInt, Output: maxInt, CachedInput: maxInt},
			billing.Usage{PromptTokens: maxInt, CompletionTokens: maxInt, CachedTokens: maxInt / 2}, maxInt},
		{"HugeTimesOne", billing.Price{Input: 1, Output: 1, CachedInput: 1},
			billing.Usage{PromptTokens: maxInt, CompletionTokens: maxInt}, 18_446_744_073_710},
		// Every dimension, by hand: a Claude-style call with cache reads and both cache writes,
		// reasoning, a per-call fee and two images. Prices per 1M: input 3, cached 0.3, 5m write
		// 3.75, 1h write 6, output 15, reasoning 20 (×1e6 units).
		{"AllDimensions", full, billing.Usage{PromptTokens: 10_000, CachedTokens: 4_000, CacheWrite5mTokens: 2_000,
			CacheWrite1hTokens: 1_000, CompletionTokens: 3_000, ReasoningTokens: 1_000, Images: 2},
			// input 3000×3 + cached 4000×0.3 + w5 2000×3.75 + w1 1000×6 + out 2000×15 + reasoning 1000×20
			// = 9000 + 1200 + 7500 + 6000 + 30000 + 20000 = 73700; + per call 50 + 2×1000
			73_700 + 50 + 2_000},
		{"WritesCappedAtUncachedPrompt", full, billing.Usage{PromptTokens: 10, CachedTokens: 6, CacheWrite5mTokens: 3,
			CacheWrite1hTokens: 100}, ceilDiv(6*300_000+3*3_750_000+1*6_000_000, 1_000_000) + 50},
		{"ReasoningCappedAtCompletion", full, billing.Usage{CompletionTokens: 10, ReasoningTokens: 50}, 10*20 + 50},
		{"PerCallOnly", billing.Price{PerCall: 7}, billing.Usage{}, 7},
		{"ImagesOnly", billing.Price{PerImage: 40_000}, billing.Usage{Images: 3}, 120_000},
		// The tier applies only above its threshold, and then to every token.
		{"TierAtThreshold", tiered, billing.Usage{PromptTokens: 200_000, CompletionTokens: 1_000}, 200_000*3 + 1_000*15},
		{"TierAbove", tiered, billing.Usage{PromptTokens: 200_001, CachedTokens: 1, CompletionTokens: 1_000, ReasoningTokens: 400},
			ceilDiv(200_000*6_000_000+1*600_000+600*22_500_000+400*22_500_000, 1_000_000)},
		{"ImagesSaturate", billing.Price{PerImage: maxInt}, billing.Usage{Images: 2}, maxInt},
		// Beyond 64 bits before the division, but not after it.
		{"WideIntermediate", billing.Price{Output: 4_000_000_000_000}, billing.Usage{CompletionTokens: 2_000_000_000_000}, 8_000_000_000_000_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, billing.Cost(tt.price, tt.usage))
			require.Equal(t, reference(tt.price, tt.usage), billing.Cost(tt.price, tt.usage))
		})
	}
}

// reference is Cost computed with arbitrary precision, straight from its definition.
func reference(p billing.Price, u billing.Usage) int64 {
	nn := func(v int64) *big.Int { return big.NewInt(max(v, 0)) }
	prompt, completion, cached := nn(u.PromptTokens), nn(u.CompletionTokens), nn(u.CachedTokens)
	if cached.Cmp(prompt) > 0 {
		cached = new(big.Int).Set(prompt)
	}
	tp := p
	if p.Tier != nil && prompt.Cmp(nn(p.TierAbove)) > 0 {
		tp = *p.Tier
	}
	minB := func(a, b *big.Int) *big.Int {
		if a.Cmp(b) < 0 {
			return a
		}
		return new(big.Int).Set(b)
	}
	rest := new(big.Int).Sub(prompt, cached)
	w5 := minB(nn(u.CacheWrite5mTokens), rest)
	rest.Sub(rest, w5)
	w1 := minB(nn(u.CacheWrite1hTokens), rest)
	rest.Sub(rest, w1)
	reasoning := minB(nn(u.ReasoningTokens), completion)
	mul := func(a, b *big.Int) *big.Int { return new(big.Int).Mul(a, b) }
	sum := mul(rest, nn(tp.Input))
	sum.Add(sum, mul(cached, nn(tp.CachedInput)))
	sum.Add(sum, mul(w5, nn(tp.CacheWrite5m)))
	sum.Add(sum, mul(w1, nn(tp.CacheWrite1h)))
	sum.Add(sum, mul(new(big.Int).Sub(completion, reasoning), nn(tp.Output)))
	sum.Add(sum, mul(reasoning, nn(tp.Reasoning)))
	million := big.NewInt(1_000_000)
	sum.Add(sum, big.NewInt(999_999))
	sum.Quo(sum, million)
	sum.Add(sum, nn(p.PerCall))
	sum.Add(sum, mul(nn(u.Images), nn(p.PerImage)))
	if !sum.IsInt64() {
		return math.MaxInt64
	}
	return sum.Int64()
}

func inc(v int64) int64 {
	if v == math.MaxInt64 {
		return v
	}
	return v + 1
}

// FuzzCost checks Cost against the arbitrary-precision reference and that it never decreases when
// tokens (other than cached ones, which move tokens to a cheaper price) or prices increase.
func FuzzCost(f *testing.F) {
	f.Add(int64(11), int64(5), int64(4), int64(3_000_000), int64(7_000_000), int64(1_000_000))
	f.Add(int64(0), int64(0), int64(0), int64(0), int64(0), int64(0))
	f.Add(int64(-1), int64(-1), int64(-1), int64(-1), int64(-1), int64(-1))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, prompt, completion, cached, in, out, cachedIn int64) {
		p := billing.Price{Input: in, Output: out, CachedInput: cachedIn}
		u := billing.Usage{PromptTokens: prompt, CompletionTokens: completion, CachedTokens: cached}
		c := billing.Cost(p, u)
		if c < 0 {
			t.Fatalf("Cost(%+v, %+v) = %d < 0", p, u, c)
		}
		if want := reference(p, u); c != want {
			t.Fatalf("Cost(%+v, %+v) = %d, want %d", p, u, c, want)
		}
		more := []struct {
			name string
			p    billing.Price
			u    billing.Usage
		}{
			{"prompt", p, billing.Usage{PromptTokens: inc(prompt), CompletionTokens: completion, CachedTokens: cached}},
			{"completion", p, billing.Usage{PromptTokens: prompt, CompletionTokens: inc(completion), CachedTokens: cached}},
			{"input price", billing.Price{Input: inc(in), Output: out, CachedInput: cachedIn}, u},
			{"output price", billing.Price{Input: in, Output: inc(out), CachedInput: cachedIn}, u},
			{"cached price", billing.Price{Input: in, Output: out, CachedInput: inc(cachedIn)}, u},
		}
		for _, m := range more {
			if got := billing.Cost(m.p, m.u); got < c {
				t.Fatalf("more %s lowered the cost: Cost(%+v, %+v) = %d < %d", m.name, m.p, m.u, got, c)
			}
		}
	})
}

func TestFromModel(t *testing.T) {
	t.Parallel()
	five, reasoning := int64(3_750_000), int64(20_000_000)
	m := &db.Model{InputPrice: 3_000_000, OutputPrice: 15_000_000, CacheWrite5mPrice: &five, ReasoningPrice: &reasoning,
		PerCallPrice: 9, ImagePrice: 11,
		PromptTier: []byte(`{"above_tokens":200000,"input_price":6000000,"output_price":22500000,"cached_input_price":600000}`)}
	require.Equal(t, billing.Price{Input: 3_000_000, Output: 15_000_000, CachedInput: 3_000_000, CacheWrite5m: 3_750_000,
		CacheWrite1h: 3_000_000, Reasoning: 20_000_000, PerCall: 9, PerImage: 11, TierAbove: 200_000,
		Tier: &billing.Price{Input: 6_000_000, Output: 22_500_000, CachedInput: 600_000, CacheWrite5m: 6_000_000,
			CacheWrite1h: 6_000_000, Reasoning: 22_500_000}}, billing.FromModel(m))
	m.PromptTier = []byte("null")
	require.Nil(t, billing.FromModel(m).Tier)
}
