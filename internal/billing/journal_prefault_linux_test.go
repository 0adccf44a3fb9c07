package billing

import (
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJournalPrefaults: the prefaulter keeps the pages past the append position mapped writable,
// so that appends there take no page fault, without changing a byte of the segment; an fsync
// (which write-protects the pages it writes back) and an emptying reset its mark.
func TestJournalPrefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j, err := OpenJournal(JournalConfig{Dir: dir, Database: "db/1", SyncEvery: time.Hour})
	require.NoError(t, err)
	t.Cleanup(j.Close)
	require.True(t, j.mapped)
	rec := Record{RequestID: "r-0", UserID: 7, Model: "gpt-4o-mini", Endpoint: "chat", Quota: 12, StatusCode: 200, At: time.Now()}
	_, err = j.Append(&rec)
	require.NoError(t, err)
	seg := j.cur
	want := int64(prefaultAhead) // the first page of the segment on
	require.Eventually(t, func() bool { return seg.ready.Load() >= want }, 10*time.Second, time.Millisecond)
	j.mu.Lock()
	pos := seg.size
	require.True(t, allZero(seg.m[pos:]), "prefaulting changes no byte past the last line")
	j.mu.Unlock()

	// Appends within the ready pages take no fault (counted on this thread, the records made first).
	var recs []Record
	for end := pos + int64(len(appendLine(nil, &rec))); end < want; end += int64(len(appendLine(nil, &rec))) {
		rec.RequestID = "r-" + strconv.Itoa(len(recs)+1)
		recs = append(recs, rec)
	}
	n := len(recs)
	runtime.LockOSThread()
	faults := minorFaults(t)
	for i := range recs {
		if _, err := j.Append(&recs[i]); err != nil {
			require.NoError(t, err)
		}
	}
	faulted := minorFaults(t) - faults
	runtime.UnlockOSThread()
	pages := want / int64(pageSize)
	assert.True(t, raceEnabled || faulted < pages/4, "%d appends over %d prefaulted pages took %d faults", n, pages, faulted)

	// Every line is there, in order, as a restart reads the segment.
	recs, damaged := readSegments(t, j, dir)
	require.Zero(t, damaged)
	require.Len(t, recs, n+1)
	for i, r := range recs {
		require.Equal(t, "r-"+strconv.Itoa(i), r.RequestID)
	}

	j.sync()
	require.Zero(t, seg.ready.Load(), "an fsync write-protects the pages again")
	_, err = j.Append(&rec)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return seg.ready.Load() > 0 }, 10*time.Second, time.Millisecond,
		"the next append wakes the prefaulter")
	j.mu.Lock()
	require.NoError(t, j.empty(seg))
	j.mu.Unlock()
	require.Zero(t, seg.ready.Load(), "an emptied segment is appended to from its start again")
}

// TestTouchPagesChangesNothing: the store into each page keeps what is there, zero or not.
func TestTouchPagesChangesNothing(t *testing.T) {
	t.Parallel()
	m, err := syscall.Mmap(-1, 0, 4*pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Munmap(m) })
	copy(m[pageSize:], "U1\tline")
	m[3*pageSize+2] = 9
	before := append([]byte(nil), m...)
	require.NoError(t, prefaultPages(m))
	require.Equal(t, before, m)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// minorFaults is the calling thread's count of minor page faults.
func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru))
	return ru.Minflt
}
