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
	// noMap: the journals of the test use the write(2) path.
	noMap bool
}

// journalModes are the two ways a journal appends: into mapped segments (Linux), with write(2).
var journalModes = []struct {
	name  string
	noMap bool
}{{"mapped", false}, {"written", true}}

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
	j, err := OpenJournal(JournalConfig{Dir: b.dir, Database: b.dbid, SegmentBytes: segmentBytes, SyncEvery: 5 * time.Millisecond,
		noMap: b.noMap})
	require.NoError(b.t, err)
	require.Equal(b.t, canMap && !b.noMap, j.mapped)
	r := NewRecorder(b.pool, b.q, slog.New(slog.DiscardHandler), RecorderConfig{BatchSize: 50, FlushEvery: time.Millisecond, Journal: j})
	return j, r
}

// crash drops a journal as kill -9 does: its files (and what was stored into their mappings)
// stay, its mappings and locks go.
func (j *Journal) crash() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range append(j.segs, j.retired...) {
		s.close()
	}
	if j.spareSeg != nil {
		j.spareSeg.close()
	}
	j.segs, j.retired, j.spareSeg = nil, nil, nil
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
// are written and charged exactly once by the next start, however often it replays; a last line
// the crash cut short is skipped.
func TestJournalReplaysAfterCrash(t *testing.T) {
	t.Parallel()
	for _, mode := range journalModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			b := setupJournal(t)
			b.noMap = mode.noMap
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
			seg := b.segments()
			require.Len(t, seg, 1)
			tornRec := b.rec("torn", 1000)
			j.tear(t, &tornRec) // a write cut by a crash, or a power loss, leaves a torn last line
			j.crash()

			j2, r2 := b.open(0)
			t.Cleanup(j2.Close)
			_, damaged := readSegments(t, j2, b.dir)
			require.Equal(t, 1, damaged, "the torn line")

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
		})
	}
}

// tear leaves the first half of rec's line after the current segment's lines, as a crash in the
// middle of an append does.
func (j *Journal) tear(t *testing.T, rec *Record) {
	t.Helper()
	line := appendLine(nil, rec)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mapped {
		copy(j.cur.m[j.cur.size:], line[:len(line)/2])
		return
	}
	_, err := j.cur.f.Write(line[:len(line)/2])
	require.NoError(t, err)
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

// TestJournalEmptiesAndRotates: the recorder's writes empty the journal; a full segment is
// deleted once written; a clean close leaves nothing behind.
func TestJournalEmptiesAndRotates(t *testing.T) {
	t.Parallel()
	for _, mode := range journalModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			b := setupJournal(t)
			b.noMap = mode.noMap
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			j, r := b.open(4 << 10) // a few dozen records per segment
			done := make(chan struct{})
			go func() { defer close(done); r.Run(ctx) }()
			for i := range 300 {
				r.Add(b.rec(fmt.Sprintf("rot-%s-%d", mode.name, i), 1))
			}
			require.NoError(t, r.Flush(ctx))
			rows, quota, _ := b.counts()
			require.Equal(t, int64(300), rows)
			require.Equal(t, int64(300), quota)
			segs := b.segments()
			if j.mapped {
				// The current segment and the spare (a full one kept, emptied, as the next).
				require.Len(t, segs, 2, "full segments are deleted once written, but for the spare")
			} else {
				require.Len(t, segs, 1, "full segments are deleted once written")
			}
			for _, seg := range segs {
				data, err := os.ReadFile(seg)
				require.NoError(t, err)
				require.Equal(t, j.header, data[:len(j.header)])
				if j.mapped {
					require.Zero(t, data[len(j.header)], "the current segment and the spare end after their header")
				} else {
					require.Len(t, data, len(j.header), "the current segment is truncated to its header")
				}
			}
			recs, damaged := readSegments(t, j, b.dir)
			require.Empty(t, recs)
			require.Zero(t, damaged)
			r.Close(ctx)
			<-done
			j.Close()
			require.Empty(t, b.segments(), "a clean shutdown leaves no journal")
		})
	}
}

// TestJournalConcurrentAppend: records appended by many calls at once (copied one by one into
// mapped segments, or written in groups, one write per group) are each in the journal exactly
// once, complete, when Append returns, across segment rotations; Written accounts for every one.
func TestJournalConcurrentAppend(t *testing.T) {
	t.Parallel()
	for _, mode := range journalModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testConcurrentAppend(t, mode.noMap)
		})
	}
}

func testConcurrentAppend(t *testing.T, noMap bool) {
	dir := t.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir, Database: "db-group", SegmentBytes: 16 << 10, SyncEvery: time.Millisecond, noMap: noMap})
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
	recs, damaged := readSegments(t, j, dir)
	require.Zero(t, damaged)
	require.Len(t, recs, callers*each)
	for s, n := range segs {
		j.Written(s, n)
	}
	require.Zero(t, j.Stats().Pending)
	j.Close()
}
