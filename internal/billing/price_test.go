package billing_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/billing"
)

func TestCost(t *testing.T) {
	t.Parallel()
	const maxInt = math.MaxInt64
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
	sum := new(big.Int).Mul(new(big.Int).Sub(prompt, cached), nn(p.Input))
	sum.Add(sum, new(big.Int).Mul(cached, nn(p.CachedInput)))
	sum.Add(sum, new(big.Int).Mul(completion, nn(p.Output)))
	million := big.NewInt(1_000_000)
	sum.Add(sum, big.NewInt(999_999))
	sum.Quo(sum, million)
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
