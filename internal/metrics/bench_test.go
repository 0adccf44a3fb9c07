package metrics_test

import (
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/metrics"
)

func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New(metrics.Sources{})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("/v1/chat/completions", "openai", 200, time.Millisecond, 0)
	}
}
