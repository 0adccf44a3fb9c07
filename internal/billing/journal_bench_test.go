package billing

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkJournalAppend appends usage records from parallel callers, as the gateway's answered
// calls do, and marks them written in runs of 64 per caller, as the recorder's batches do.
func BenchmarkJournalAppend(b *testing.B) {
	j, err := OpenJournal(JournalConfig{Dir: b.TempDir(), Database: "bench/1", SyncEvery: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 32 × GOMAXPROCS callers: 64 on this 2-CPU machine, as in the profiled load
	b.RunParallel(func(pb *testing.PB) {
		rec := Record{UserID: 42, APIKeyID: 7, ChannelID: 3, AccountID: 11, Model: "gpt-4o-mini", Endpoint: "chat",
			PromptTokens: 1200, CompletionTokens: 350, CachedTokens: 800, Quota: 123456, StatusCode: 200,
			Duration: 850 * time.Millisecond, At: time.Unix(1_765_000_000, 0), UpstreamModel: "gpt-4o-mini-2024-07-18"}
		base := "req-" + strconv.FormatInt(next.Add(1), 10) + "-"
		var seg *segment
		var n int64
		for i := 0; pb.Next(); i++ {
			rec.RequestID = base + strconv.Itoa(i)
			s, err := j.Append(&rec)
			if err != nil {
				b.Error(err)
				return
			}
			if s != seg {
				j.Written(seg, n)
				seg, n = s, 0
			}
			if n++; n == 64 {
				j.Written(seg, n)
				n = 0
			}
		}
		j.Written(seg, n)
	})
}
