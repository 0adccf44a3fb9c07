package usage_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
)

// TestExportMillionRows streams a CSV export of a million usage logs through the admin API and
// samples the process's heap while reading it: the export holds one batch of rows at a time, so
// the heap stays far below the size of the file. This package's tests run alone in their
// process, so the heap measured is the export's.
func TestExportMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a million rows")
	}
	const rows = 1_000_000
	env := apptest.New(t)
	u := env.NewUser("alice", 0)
	_, err := env.App.Pool.Exec(t.Context(), `INSERT INTO usage_logs (request_id, user_id, api_key_id, channel_id, account_id,
		model, upstream_model, endpoint, stream, status_code, duration_ms, first_token_ms, prompt_tokens, completion_tokens,
		quota, created_at)
		SELECT 'req-' || g, $1, $2, 1, 4, 'gpt-4o', 'gpt-4o-2024-11-20', '/v1/chat/completions', g % 2 = 0, 200, g % 1000,
		       CASE WHEN g % 2 = 0 THEN g % 300 END, 21, 96, 30, now() - g * interval '1 millisecond'
		FROM generate_series(1, $3::int) g`, u.ID, u.KeyID, rows)
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.URL+"/api/logs/export", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+env.AdminToken)
	res, err := http.DefaultClient.Do(req) // not the validating client: it would hold the whole body
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	r := bufio.NewReaderSize(res.Body, 64<<10)
	var lines, size int64
	first := ""
	for {
		line, err := r.ReadSlice('\n')
		size += int64(len(line))
		if len(line) > 0 {
			if lines == 1 {
				first = string(bytes.TrimSpace(line))
			}
			lines++
			if lines%50_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.EqualValues(t, rows+1, lines, "a header and one row per log")
	require.Contains(t, first, ",req-1000000,", "newest first")
	t.Logf("exported %d rows, %.1f MiB; heap %.1f MiB before, %.1f MiB at most while streaming",
		rows, float64(size)/(1<<20), float64(base)/(1<<20), float64(peak)/(1<<20))
	require.Greater(t, size, int64(100<<20), "the export is over 100 MiB")
	require.Less(t, peak, base+64<<20, "the heap grew by less than 64 MiB while streaming over 100 MiB")
}
