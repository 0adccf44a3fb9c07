package billing

import (
	"math/big"
	"math/bits"
)

// Multiply applies a price multiplier given in thousandths (1000 = ×1) to a cost, exactly in
// integer arithmetic, rounding up to a whole quota unit: ⌈cost × permille / 1000⌉. Negative
// inputs count as zero; a result beyond int64 saturates.
func Multiply(cost, permille int64) int64 {
	if cost <= 0 || permille <= 0 {
		return 0
	}
	if permille == 1000 {
		return cost
	}
	hi, lo := bits.Mul64(uint64(cost), uint64(permille)) //nolint:gosec // both positive
	// hi ≥ 1000: the quotient would not fit in 64 bits.
	if hi >= 1000 {
		return maxCost
	}
	q, r := bits.Div64(hi, lo, 1000)
	if r != 0 {
		q++
	}
	if q > uint64(maxCost) {
		return maxCost
	}
	return int64(q) //nolint:gosec // checked above
}

const maxCost = int64(^uint64(0) >> 1)

// MultiplyAll applies several multipliers in thousandths to a cost at once: ⌈cost × p₁ × … × pₙ /
// 1000ⁿ⌉, the product taken exactly and rounded up once, so the order of the factors does not
// change the charge (docs/money.md § Multipliers). A factor of 0 makes the charge 0; the result
// saturates at MaxInt64.
func MultiplyAll(cost int64, permilles ...int64) int64 {
	if cost <= 0 {
		return 0
	}
	var rest [4]int64
	n := 0
	for _, p := range permilles {
		switch {
		case p <= 0:
			return 0
		case p == 1000:
			continue
		case n < len(rest):
			rest[n] = p
			n++
		default:
			return multiplyBig(cost, permilles)
		}
	}
	switch n {
	case 0:
		return cost
	case 1:
		return Multiply(cost, rest[0])
	}
	return multiplyBig(cost, rest[:n])
}

func multiplyBig(cost int64, permilles []int64) int64 {
	num := big.NewInt(cost)
	den := big.NewInt(1)
	thousand := big.NewInt(1000)
	for _, p := range permilles {
		if p <= 0 {
			return 0
		}
		num.Mul(num, big.NewInt(p))
		den.Mul(den, thousand)
	}
	q, r := num.QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return maxCost
	}
	return q.Int64()
}
