package billing

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/testdb"
)

type journalBundle struct {
	t    *testing.T
	pool *pgxpool.Pool
	q    *db.Queries
	dir  string
	dbid string
	user int64
}

// setupJournal gives a test database with one user (balance 1,000,000) and a journal directory.
func setupJournal(t *testing.T) *journalBundle {
	t.Helper()
	b := &journalBundle{t: t, pool: testdb.New(t), q: db.New(), dir: t.TempDir()}
	ctx := context.Background()
	var err error
	b.dbid, err = b.q.UsageJournalDatabase(ctx, b.pool)
	require.NoError(t, err)
	require.NoError(t, b.pool.QueryRow(ctx,
		`INSERT INTO users (username, password_hash, balance) VALUES ('jo', 'x', 1000000) RETURNING id`).Scan(&b.user))
	return b
}

// open starts a journal and a recorder on it, as an app instance does.
func (b *journalBundle) open(segmentBytes int64) (*Journal, *Recorder) {
	b.t.Helper()
	j, err := OpenJournal(JournalConfig{Dir: b.dir, Database: b.dbid, SegmentBytes: segmentBytes, SyncEvery: 5 * time.Millisecond})
	require.NoError(b.t, err)
	r := NewRecorder(b.pool, b.q, slog.New(slog.DiscardHandler), RecorderConfig{BatchSize: 50, FlushEvery: time.Millisecond, Journal: j})
	return j, r
}

// crash drops a journal as kill -9 does: its files stay, its locks go.
func (j *Journal) crash() {
	j.mu.Lock()
	j.closed = true
	for _, s := range j.segs {
		_ = s.f.Close()
	}
	j.segs = nil
	j.mu.Unlock()
	close(j.stop)
	<-j.done
}

func (b *journalBundle) rec(id string, quota int64) Record {
	return Record{RequestID: id, UserID: b.user, Model: "m", Endpoint: "chat", Quota: quota, StatusCode: 200, At: time.Now()}
}

// counts returns the usage rows, their quota and the user's balance.
func (b *journalBundle) counts() (rows, quota, balance int64) {
	b.t.Helper()
	ctx := context.Background()
	require.NoError(b.t, b.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(quota), 0)::bigint FROM usage_logs`).Scan(&rows, &quota))
	require.NoError(b.t, b.pool.QueryRow(ctx, `SELECT balance FROM users WHERE id = $1`, b.user).Scan(&balance))
	return rows, quota, balance
}

func (b *journalBundle) segments() []string {
	b.t.Helper()
	names, err := filepath.Glob(filepath.Join(b.dir, "*"+journalExt))
	require.NoError(b.t, err)
	return names
}

// TestJournalReplaysAfterCrash: records journaled by a process that died before writing them
// are written and charged exactly once by the next start, however often it replays.
func TestJournalReplaysAfterCrash(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx := context.Background()
	j, r := b.open(0)
	// The dead process had written the first 3 of its 10 records; the rest were in memory.
	var recs []Record
	for i := range 10 {
		rec := b.rec("crash-"+string(rune('a'+i)), 10)
		_, err := j.Append(&rec)
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	require.NoError(t, r.settle(ctx, recs[:3]))
	// A write cut by the crash leaves a torn last line.
	seg := b.segments()
	require.Len(t, seg, 1)
	j.crash()
	f, err := os.OpenFile(seg[0], os.O_APPEND|os.O_WRONLY, 0) //nolint:gosec // the test's own directory
	require.NoError(t, err)
	tornRec := b.rec("torn", 1000)
	torn := appendLine(nil, &tornRec)
	_, err = f.Write(torn[:len(torn)/2])
	require.NoError(t, err)
	require.NoError(t, f.Close())

	j2, r2 := b.open(0)
	t.Cleanup(j2.Close)
	n, err := r2.Recover(ctx)
	require.NoError(t, err)
	require.Equal(t, 10, n)
	rows, quota, balance := b.counts()
	require.Equal(t, int64(10), rows, "every answered call has its row; the torn line is skipped")
	require.Equal(t, int64(100), quota)
	require.Equal(t, int64(1_000_000-100), balance, "charged exactly once")
	require.NoFileExists(t, seg[0], "a replayed segment is deleted")

	n, err = r2.Recover(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to replay")
	_, _, balance = b.counts()
	require.Equal(t, int64(1_000_000-100), balance)
}

// TestJournalLeavesLiveAndForeignSegments: a segment another live instance holds, or one written
// for another database, is never replayed here.
func TestJournalLeavesLiveAndForeignSegments(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx := context.Background()
	live, _ := b.open(0)
	t.Cleanup(live.Close)
	rec := b.rec("live-1", 5)
	_, err := live.Append(&rec)
	require.NoError(t, err)

	foreign, err := OpenJournal(JournalConfig{Dir: b.dir, Database: "other/1"})
	require.NoError(t, err)
	rec2 := b.rec("foreign-1", 5)
	_, err = foreign.Append(&rec2)
	require.NoError(t, err)
	foreign.crash()

	j, r := b.open(0)
	t.Cleanup(j.Close)
	n, err := r.Recover(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	rows, _, _ := b.counts()
	require.Zero(t, rows)
	require.Len(t, b.segments(), 3, "the live, the foreign and the new segment are all kept")
}

// TestJournalTruncatesAndRotates: the recorder's writes empty the journal; a full segment is
// deleted once written; a clean close leaves nothing behind.
func TestJournalTruncatesAndRotates(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j, r := b.open(4 << 10) // a few dozen records per segment
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	for i := range 300 {
		r.Add(b.rec("rot-"+time.Now().Format("150405.000000000")+"-"+string(rune('A'+i%26))+string(rune('a'+i/26)), 1))
	}
	require.NoError(t, r.Flush(ctx))
	rows, quota, _ := b.counts()
	require.Equal(t, int64(300), rows)
	require.Equal(t, int64(300), quota)
	segs := b.segments()
	require.Len(t, segs, 1, "full segments are deleted once written")
	st, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.Equal(t, int64(len(j.header)), st.Size(), "the current segment is truncated to its header")
	r.Close(ctx)
	<-done
	j.Close()
	require.Empty(t, b.segments(), "a clean shutdown leaves no journal")
}

// TestJournalGroupCommit: records appended by many calls at once (written in groups, one write
// per group) are each in the journal exactly once, complete, when Append returns, across segment
// rotations; Written accounts for every one.
func TestJournalGroupCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir, Database: "db-group", SegmentBytes: 16 << 10, SyncEvery: time.Hour})
	require.NoError(t, err)
	const callers, each = 64, 40
	type appended struct {
		seg *segment
		id  string
	}
	out := make(chan appended, callers*each)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rec := Record{RequestID: fmt.Sprintf("req-%d-%d", c, i), UserID: 1, Model: "m", At: time.Unix(1_700_000_000, 0)}
				seg, err := j.Append(&rec)
				if err != nil {
					t.Error(err)
					return
				}
				// The line is in the file already: the segment holds it.
				data, err := os.ReadFile(seg.path)
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Contains(data, []byte("\t"+rec.RequestID+"\t")) {
					t.Errorf("%s not in its segment when Append returned", rec.RequestID)
				}
				out <- appended{seg, rec.RequestID}
			}
		}()
	}
	wg.Wait()
	close(out)
	require.Equal(t, int64(callers*each), j.Stats().Pending)
	seen := map[string]int{}
	segs := map[*segment]int64{}
	for a := range out {
		seen[a.id]++
		segs[a.seg]++
	}
	require.Len(t, seen, callers*each)
	require.Greater(t, len(segs), 1, "the segments rotated")
	var lines int
	names, err := filepath.Glob(filepath.Join(dir, "*"+journalExt))
	require.NoError(t, err)
	for _, n := range names {
		f, err := os.Open(n) //nolint:gosec // the test's own directory
		require.NoError(t, err)
		recs, damaged, ours, err := j.read(orphan{f: f, path: n})
		require.NoError(t, err)
		require.True(t, ours)
		require.Zero(t, damaged)
		lines += len(recs)
		_ = f.Close()
	}
	require.Equal(t, callers*each, lines)
	for s, n := range segs {
		j.Written(s, n)
	}
	require.Zero(t, j.Stats().Pending)
	j.Close()
}
