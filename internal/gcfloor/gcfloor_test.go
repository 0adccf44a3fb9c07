package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercent(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	assert.Equal(t, 300, percent(16*mib, 64*mib), "a small heap grows to the floor")
	assert.Equal(t, 100, percent(32*mib, 64*mib), "half the floor: as GOGC=100")
	assert.Equal(t, 100, percent(600*mib, 64*mib), "a large heap: as GOGC=100")
	assert.Equal(t, 100, percent(0, 64*mib))
	assert.Equal(t, 10000, percent(1, 64*mib), "bounded")
}

// gogc reads the collector's percentage without changing it.
func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestStart: after a collection the percentage is the floor's, and once stopped GOGC=100 is back.
func TestStart(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set in the environment")
	}
	defer debug.SetGCPercent(100)
	stop := Start(1 << 30) // far above this test's live heap
	require.Eventually(t, func() bool { runtime.GC(); return gogc() > 100 }, 5*time.Second, 10*time.Millisecond,
		"the floor raised GOGC")
	stop()
	require.Eventually(t, func() bool { runtime.GC(); return gogc() == 100 }, 5*time.Second, 10*time.Millisecond,
		"stopped: GOGC=100 again")
}
