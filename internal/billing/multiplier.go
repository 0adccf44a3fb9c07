package billing

import "math/bits"

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
