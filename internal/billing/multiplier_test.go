package billing_test

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/billing"
)

func TestMultiply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cost, permille, want int64
	}{
		{10, 1000, 10},
		{10, 1500, 15},
		{10, 1234, 13}, // 12.34 rounds up
		{10, 0, 0},
		{0, 1500, 0},
		{-5, 1500, 0},
		{1, 1, 1}, // a fraction of a unit still costs one
		{999, 999, 999},
		{1000, 999, 999},
		{math.MaxInt64, 1000, math.MaxInt64},
		{math.MaxInt64, 1001, math.MaxInt64}, // saturates
		{math.MaxInt64 / 2, 1500, 0},         // computed below
	}
	for _, tc := range tests {
		want := tc.want
		if tc.cost == math.MaxInt64/2 {
			n := new(big.Int).Mul(big.NewInt(tc.cost), big.NewInt(tc.permille))
			q, r := new(big.Int).QuoRem(n, big.NewInt(1000), new(big.Int))
			if r.Sign() != 0 {
				q.Add(q, big.NewInt(1))
			}
			want = math.MaxInt64
			if q.IsInt64() {
				want = q.Int64()
			}
		}
		require.Equal(t, want, billing.Multiply(tc.cost, tc.permille), "%d × %d‰", tc.cost, tc.permille)
	}
}

func TestMultiplyAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cost      int64
		permilles []int64
		want      int64
	}{
		{6500, nil, 6500},
		{6500, []int64{1000, 1000}, 6500},
		{6500, []int64{1500}, 9750},
		{6500, []int64{1500, 800, 1100, 901}, 7731}, // 7730.58: rounded up once
		{6500, []int64{901, 1100, 800, 1500}, 7731}, // the order does not matter
		{6500, []int64{1500, 0, 1100}, 0},
		{1, []int64{1, 1, 1, 1}, 1},    // a fraction of a unit still costs one
		{999, []int64{1001, 999}, 999}, // 998.999001 → 999
		{1000, []int64{999, 999}, 999}, // 998.001 → 999 (rounding each step would give 999 too)
		{10, []int64{1234, 1234}, 16},  // 15.22756 → 16 (rounding each step: 13 → 17)
		{math.MaxInt64, []int64{2000, 2000}, math.MaxInt64},
		{0, []int64{1500}, 0},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, billing.MultiplyAll(tc.cost, tc.permilles...), "%d × %v", tc.cost, tc.permilles)
	}
}
