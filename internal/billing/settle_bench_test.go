package billing

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/testdb"
)

// BenchmarkSettle writes usage batches as the recorder does under load (256 records per batch,
// one user, key, channel and account, request ids as the gateway makes them) and reports what
// PostgreSQL spends per record: pg-µs/rec is the CPU time of the connection's backend process
// (/proc, Linux only), the cost that grows with the rate of calls. The database is one cloned for
// the benchmark, on the server the tests use.
func BenchmarkSettle(b *testing.B) {
	ctx := context.Background()
	pool, q := testdb.New(b), db.New()
	var user int64
	require.NoError(b, pool.QueryRow(ctx,
		`INSERT INTO users (username, password_hash, balance) VALUES ('jo', 'x', 1000000000000) RETURNING id`).Scan(&user))
	var ids [3]int64
	require.NoError(b, pool.QueryRow(ctx, `WITH k AS (INSERT INTO api_keys (user_id, name, key_hash, key_hint) VALUES ($1, 'k', 'h', 'x') RETURNING id),
		c AS (INSERT INTO channels (name, type, base_url) VALUES ('c', 'openai', 'http://u') RETURNING id),
		a AS (INSERT INTO accounts (channel_id, credential_enc, credential_tail) SELECT id, 'e', 't' FROM c RETURNING id)
		SELECT (SELECT id FROM k), (SELECT id FROM c), (SELECT id FROM a)`, user).Scan(&ids[0], &ids[1], &ids[2]))
	// One connection, so every batch runs on the backend measured.
	cfg := pool.Config()
	cfg.MaxConns = 1
	one, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(b, err)
	defer one.Close()
	pool = one
	r := NewRecorder(pool, q, slog.New(slog.DiscardHandler), RecorderConfig{})
	conn, err := pool.Acquire(ctx)
	require.NoError(b, err)
	var pid int
	require.NoError(b, conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	conn.Release()

	const batch = 256
	gen := httpx.NewIDGen()
	recs := make([]Record, batch)
	b.ReportAllocs()
	start := procCPU(b, pid)
	n := 0
	for b.Loop() {
		for i := range recs {
			recs[i] = Record{RequestID: gen.Next(), UserID: user, APIKeyID: ids[0], ChannelID: ids[1], AccountID: ids[2],
				Model: "bench-model", Endpoint: "chat", PromptTokens: 12, CompletionTokens: 8, Quota: 28, StatusCode: 200,
				Duration: 3 * time.Millisecond, At: time.Now(), UpstreamModel: "bench-model"}
		}
		require.NoError(b, r.settle(ctx, recs))
		n += batch
	}
	b.ReportMetric(float64(procCPU(b, pid)-start)/float64(time.Microsecond)/float64(n), "pg-µs/rec")
	b.ReportMetric(0, "ns/op")
}

// procCPU is a process's user and system CPU time so far (Linux /proc; 100 ticks a second).
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Skip("no /proc: ", err)
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
