package relay

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// TestReadLimited: what io.LimitReader and bytes.Buffer.ReadFrom read, without their allocations.
func TestReadLimited(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("0123456789", 300)
	for _, limit := range []int64{0, 1, 511, 512, 2999, 3000, 3001, 1 << 20} {
		for _, start := range [][]byte{nil, make([]byte, 0, 7), make([]byte, 0, 16<<10)} {
			got, err := readLimited(start, iotest.HalfReader(strings.NewReader(text)), limit)
			require.NoError(t, err)
			require.Equal(t, text[:min(limit, int64(len(text)))], string(got), "limit %d", limit)
		}
	}
	boom := errors.New("boom")
	got, err := readLimited(nil, iotest.TimeoutReader(strings.NewReader(text)), 1<<20)
	require.ErrorIs(t, err, iotest.ErrTimeout)
	require.NotEmpty(t, got, "the bytes read before the error")
	_, err = readLimited(nil, iotest.ErrReader(boom), 10)
	require.ErrorIs(t, err, boom)
}
