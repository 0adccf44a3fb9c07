package billing

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// killDirEnv, set, makes TestJournalKillHelper the process TestJournalSurvivesKill kills.
const killDirEnv = "POOLGATE_TEST_JOURNAL_KILL_DIR"

// readSegments reads every segment in dir as journal j would replay it.
func readSegments(t *testing.T, j *Journal, dir string) (recs []Record, damaged int) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+journalExt))
	require.NoError(t, err)
	for _, name := range names {
		f, err := os.Open(name) //nolint:gosec // the test's own directory
		require.NoError(t, err)
		r, d, ours, err := j.read(orphan{f: f, path: name})
		require.NoError(t, err)
		require.True(t, ours, name)
		recs, damaged = append(recs, r...), damaged+d
		require.NoError(t, f.Close())
	}
	return recs, damaged
}

// openMapped opens a journal of mapped segments in a new directory (skipped where segments are
// not mapped).
func openMapped(t *testing.T, database string) (*Journal, string) {
	t.Helper()
	if !canMap {
		t.Skip("segments are not mapped here")
	}
	dir := t.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir, Database: database})
	require.NoError(t, err)
	require.True(t, j.mapped)
	return j, dir
}

// TestJournalSurvivesKill: a process killed with SIGKILL in the middle of appending leaves every
// record whose Append had returned in its segments, for the next start to read, and no torn line
// (the line being appended at the kill is whole or absent).
func TestJournalSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs and kills a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalKillHelper$", "-test.count=1") //nolint:gosec // the test binary itself
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	appended := -1
	for sc.Scan() && appended < 20_000 {
		if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
			appended = n
		}
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL, mid-load: the child appends without pause
	_ = cmd.Wait()
	require.GreaterOrEqual(t, appended, 20_000, "the child appended")

	j, err := OpenJournal(JournalConfig{Dir: t.TempDir(), Database: "kill/1"})
	require.NoError(t, err)
	defer j.Close()
	recs, damaged := readSegments(t, j, dir)
	require.Zero(t, damaged, "the line being appended at the kill is whole or absent")
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.RequestID] = true
	}
	for i := range appended {
		require.True(t, seen["kill-"+strconv.Itoa(i)], "record %d returned from Append before the kill and is lost", i)
	}
	require.Len(t, seen, len(recs), "no record twice")
}

// TestJournalKillHelper is the child of TestJournalSurvivesKill: it appends records without end,
// printing how many returned, until it is killed.
func TestJournalKillHelper(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("the child of TestJournalSurvivesKill")
	}
	j, err := OpenJournal(JournalConfig{Dir: dir, Database: "kill/1", SegmentBytes: 256 << 10})
	require.NoError(t, err)
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		rec := Record{RequestID: "kill-" + strconv.Itoa(i), UserID: 1, Model: "m", StatusCode: 200, At: time.Now()}
		_, err := j.Append(&rec)
		require.NoError(t, err)
		if (i+1)%100 == 0 {
			_, _ = fmt.Fprintln(w, i+1)
			_ = w.Flush()
		}
	}
}

// TestJournalEmptiedSegment: a drained current segment is emptied, so a crash after it replays
// only the records appended since (the old lines past them are never read); an append cut by a
// crash before its last store leaves no line.
func TestJournalEmptiedSegment(t *testing.T) {
	t.Parallel()
	for _, mode := range journalModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			j, err := OpenJournal(JournalConfig{Dir: dir, Database: "db-empty", noMap: mode.noMap})
			require.NoError(t, err)
			appendN := func(prefix string, n int) *segment {
				var seg *segment
				for i := range n {
					rec := Record{RequestID: prefix + strconv.Itoa(i), UserID: 1, At: time.Unix(1_700_000_000, 0)}
					seg, err = j.Append(&rec)
					require.NoError(t, err)
				}
				return seg
			}
			j.Written(appendN("old-", 5), 5)
			appendN("new-", 2)
			j.crash()
			j2, err := OpenJournal(JournalConfig{Dir: t.TempDir(), Database: "db-empty"})
			require.NoError(t, err)
			defer j2.Close()
			recs, damaged := readSegments(t, j2, dir)
			require.Zero(t, damaged)
			require.Len(t, recs, 2)
			require.Equal(t, "new-0", recs[0].RequestID)
			require.Equal(t, "new-1", recs[1].RequestID)
		})
	}
	t.Run("cut", func(t *testing.T) {
		t.Parallel()
		j, dir := openMapped(t, "db-empty")
		for i := range 5 {
			rec := Record{RequestID: "old-" + strconv.Itoa(i), UserID: 1, At: time.Unix(1_700_000_000, 0)}
			_, err := j.Append(&rec)
			require.NoError(t, err)
		}
		j.Written(j.cur, 5)
		// An append of a record killed before its last store (mapStore's first byte).
		rec := Record{RequestID: "new-0", UserID: 1, At: time.Unix(1_700_000_000, 0)}
		line := appendLine(nil, &rec)
		at := j.cur.m[j.cur.size:]
		at[len(line)] = 0
		copy(at[1:], line[1:])
		j.crash()
		recs, damaged := readSegments(t, j, dir)
		require.Zero(t, damaged)
		require.Empty(t, recs, "neither the old records nor the cut one")
	})
}

// TestJournalRecycledSegment: a mapped full segment whose records are all written becomes the
// spare, and then the current segment again; a crash then replays only the records appended to
// it since (its old lines past them are never read) and those of the segment still pending.
func TestJournalRecycledSegment(t *testing.T) {
	t.Parallel()
	if !canMap {
		t.Skip("segments are not mapped here")
	}
	dir := t.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir, Database: "db-recycle", SegmentBytes: 4 << 10})
	require.NoError(t, err)
	add := func(id string) *segment {
		rec := Record{RequestID: id, UserID: 1, Model: "m", At: time.Unix(1_700_000_000, 0)}
		seg, err := j.Append(&rec)
		require.NoError(t, err)
		return seg
	}
	// Fill the first segment (and start a second), then write the first one's records.
	first := add("a-0")
	n := 1
	for add("a-"+strconv.Itoa(n)) == first {
		n++
	}
	second := j.cur
	j.Written(first, int64(n))
	require.Same(t, first, j.spareSeg, "the written full segment is kept as the spare")
	firstPath := first.path
	// Fill the second one: the spare is the next segment.
	pending := []string{"a-" + strconv.Itoa(n)}
	for i := 0; ; i++ {
		id := "b-" + strconv.Itoa(i)
		if add(id) != second {
			require.Same(t, first, j.cur, "the spare is appended to again")
			require.Nil(t, j.spareSeg)
			require.Equal(t, firstPath, j.cur.path)
			pending = append(pending, id)
			break
		}
		pending = append(pending, id)
	}
	pending = append(pending, "c-0")
	add("c-0")
	names, err := filepath.Glob(filepath.Join(dir, "*"+journalExt))
	require.NoError(t, err)
	require.Len(t, names, 2, "no third file: the spare was used")
	j.crash()
	recs, damaged := readSegments(t, j, dir)
	require.Zero(t, damaged)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.RequestID)
	}
	require.ElementsMatch(t, pending, ids, "the pending records, none of the first segment's written ones")
}

// TestJournalReadsWrittenSegments: a segment written with write(2) (by an earlier version, or
// where segments are not mapped) is replayed by a journal that maps its own: to its end, its torn
// last line skipped.
func TestJournalReadsWrittenSegments(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx := context.Background()
	seg := journalHeader(segWritten, b.dbid)
	require.Equal(t, "#poolgate-usage-journal v1 db="+b.dbid+"\n", string(seg), "the header earlier versions wrote")
	for i := range 4 {
		rec := b.rec("v1-"+strconv.Itoa(i), 10)
		seg = appendLine(seg, &rec)
	}
	torn := b.rec("v1-torn", 1000)
	seg = append(seg, appendLine(nil, &torn)[:30]...)
	path := filepath.Join(b.dir, "usage-1-0000000000000000"+journalExt)
	require.NoError(t, os.WriteFile(path, seg, 0o600))

	j, r := b.open(0)
	t.Cleanup(j.Close)
	n, err := r.Recover(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	rows, quota, _ := b.counts()
	require.Equal(t, int64(4), rows)
	require.Equal(t, int64(40), quota)
	require.NoFileExists(t, path)
}

// TestJournalMappingFault: a fault on a segment's mapping (here the file cut short under it, as
// an I/O error would raise SIGBUS) fails that append, counted, without killing the process; the
// next append goes to a new segment.
func TestJournalMappingFault(t *testing.T) {
	t.Parallel()
	j, dir := openMapped(t, "db-fault")
	defer j.Close()
	first := j.cur
	require.NoError(t, os.Truncate(first.path, 0))
	rec := Record{RequestID: "fault-0", UserID: 1, At: time.Unix(1_700_000_000, 0)}
	_, err := j.Append(&rec)
	require.ErrorContains(t, err, "fault on a mapped segment")
	require.Equal(t, int64(1), j.Stats().AppendErrors)

	rec.RequestID = "fault-1"
	seg, err := j.Append(&rec)
	require.NoError(t, err)
	require.NotSame(t, first, seg, "a new segment")
	require.NoFileExists(t, first.path, "the faulted segment, nothing pending in it, is deleted")
	recs, damaged := readSegments(t, j, dir)
	require.Zero(t, damaged)
	require.Len(t, recs, 1)
	require.Equal(t, "fault-1", recs[0].RequestID)
	j.Written(seg, 1)
}

// TestJournalLongLine: a record longer than a segment gets a segment of its size, and reads back
// whole (longer than the reader's buffer); a NUL in a text field is escaped, so it does not end
// a mapped segment.
func TestJournalLongLine(t *testing.T) {
	t.Parallel()
	for _, mode := range journalModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			j, err := OpenJournal(JournalConfig{Dir: dir, Database: "db-long", SegmentBytes: 64 << 10, noMap: mode.noMap})
			require.NoError(t, err)
			defer j.Close()
			long := strings.Repeat("m", 100<<10)
			var segs []*segment
			for _, model := range []string{"a\x00b", long, "after"} {
				rec := Record{RequestID: "long-" + model[:1], UserID: 1, Model: model, At: time.Unix(1_700_000_000, 0)}
				seg, err := j.Append(&rec)
				require.NoError(t, err)
				segs = append(segs, seg)
			}
			recs, damaged := readSegments(t, j, dir)
			require.Zero(t, damaged)
			require.Len(t, recs, 3)
			models := map[string]bool{}
			for _, r := range recs {
				models[r.Model] = true
			}
			require.True(t, models["a\x00b"] && models[long] && models["after"])
			require.False(t, bytes.Contains(appendText(nil, "a\x00b"), []byte{0}))
			for _, s := range segs {
				j.Written(s, 1)
			}
		})
	}
}
