package metrics_test

import (
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/metrics"
)

func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New(metrics.Sources{})
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("/v1/chat/completions", "openai", 200, time.Millisecond, 0)
	}
}

func BenchmarkObserveUsage(b *testing.B) {
	m := metrics.New(metrics.Sources{})
	recs := []billing.Record{{ChannelID: 3, Model: "gpt-4o-mini", StatusCode: 200, PromptTokens: 12, CompletionTokens: 9, Quota: 21}}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveUsage(recs)
	}
}
