package relay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestForwardingBuckets: each duration lands in the bucket whose bound is the first at or above
// it, over the three resolutions and the overflow bucket.
func TestForwardingBuckets(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d  time.Duration
		le time.Duration
	}{
		{0, 10 * time.Microsecond}, {9 * time.Microsecond, 10 * time.Microsecond}, {10 * time.Microsecond, 20 * time.Microsecond},
		{999 * time.Microsecond, time.Millisecond}, {time.Millisecond, 1100 * time.Microsecond},
		{9999 * time.Microsecond, 10 * time.Millisecond}, {10 * time.Millisecond, 11 * time.Millisecond},
		{99 * time.Millisecond, 100 * time.Millisecond}, {time.Second, -1},
	} {
		i := bucketOf(c.d)
		require.Equal(t, c.le, bucketLimit(i), "%v", c.d)
		if i > 0 {
			require.Greater(t, c.d, bucketLimit(i-1)-time.Microsecond, "%v", c.d)
		}
	}
	var h latencyHist
	h.add(5 * time.Microsecond)
	h.add(5 * time.Microsecond)
	h.add(2 * time.Second)
	require.Equal(t, []ForwardingBucket{{LeMicros: 10, Count: 2}, {LeMicros: -1, Count: 1}}, h.buckets())
}
