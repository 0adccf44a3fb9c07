package billing

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The journal keeps every usage record on local disk from before its call's answer completes
// until the record is durable in PostgreSQL, so that a process crash (kill -9, a panic that
// kills the process, the OOM killer) loses no answered call: each record is one line in the
// current segment file, in the kernel's page cache (which outlives the process) before Append
// returns, and the segments are fsynced on an interval (what a power loss can take).
//
// On Linux a segment is preallocated at its full size (a full disk fails when a segment is
// started, never as a fault on a store) and mapped shared: an append is a copy into the mapping
// under the journal's mutex, no system call (journal_map.go). Elsewhere, or where mapping fails,
// each append is a write(2), with the records of the calls finishing together gathered into one
// (journal_write.go). A full segment is deleted once all its records are written; the current
// one is then emptied (ended after its header when mapped, truncated otherwise). A mapped full
// segment is kept instead, emptied, as the next one (spareSeg): its pages are in the page cache and
// its blocks written, so appending to it again costs no page allocation, zeroing or block
// conversion on each page's first store, as a fresh segment's does.
//
// Each running instance appends to its own segments and holds an exclusive flock(2) on each. At
// start, and every orphanScanEvery after, an instance replays the segments of the same database
// that no live process holds (its own previous run's, or a crashed neighbour's on the same
// machine): the usage write is idempotent by request id, so a replayed record that was already
// written is skipped and nothing is charged twice (journal_orphan.go).

// journalExt names segment files; a segment being created has journalTmpExt until it is locked.
const (
	journalExt    = ".journal"
	journalTmpExt = ".journal-new"
)

// A segment starts with the header line "#poolgate-usage-journal <version> db=<database>". A
// segment of version segWritten is written with write(2) and ends where its file ends; one of
// version segMapped is preallocated and mapped, and ends at its first NUL byte, which follows its
// last line.
const (
	headerPrefix = "#poolgate-usage-journal "
	segWritten   = "v1"
	segMapped    = "v2"
)

// journalHeader is the header line of a segment of the given version for database.
func journalHeader(version, database string) []byte {
	return append(appendText([]byte(headerPrefix+version+" db="), database), '\n')
}

// orphanScanEvery is how often a running instance looks for segments left by dead processes.
const orphanScanEvery = 30 * time.Second

// errJournalClosed is returned by an Append after Close.
var errJournalClosed = errors.New("usage journal closed")

// JournalConfig places and sizes the journal.
type JournalConfig struct {
	// Dir holds the segment files (created 0700 when missing).
	Dir string
	// Database identifies the database the records belong to: a segment is replayed only into
	// the database it was written for.
	Database string
	// SyncEvery is the fsync interval (0: 1s).
	SyncEvery time.Duration
	// SegmentBytes is the size of a segment: a new one is started when a record does not fit
	// (0: 8 MiB). Mapped segments take their full size on disk from the start.
	SegmentBytes int64
	Log          *slog.Logger

	// noMap keeps to the write(2) path where segments could be mapped (tests of that path).
	noMap bool
}

// Journal is the append-only local log of usage records (see the package comment above).
type Journal struct {
	cfg    JournalConfig
	header []byte // the header of this journal's segments
	mapped bool   // segments are preallocated and mapped; false: written with write(2)

	mu      sync.Mutex
	cur     *segment
	segs    []*segment // open segments: the current one and full ones with pending records
	closed  bool
	failing bool // the last append failed (logged once per streak)
	// retired are segments deleted since the last fsync round, which unmaps and closes them
	// outside the mutex (freeing a deleted file's pages is the slow part of deleting it).
	retired []*segment
	// spareSeg is a mapped full segment whose records are all written, emptied down to its
	// header and kept (locked, mapped) as the next segment.
	spareSeg *segment
	// Group commit (write(2) path only, journal_write.go): records appended while a write is
	// under way gather in open and go out together in the next write; writing says a write is
	// under way, cond wakes the appenders whose group was written, spare is the buffer of the
	// last group, reused.
	open    *group
	writing bool
	cond    *sync.Cond
	spare   []byte
	// lines holds the buffers appends encode their lines into (mapped path).
	lines sync.Pool

	// pending counts records appended and not yet written to the database (all segments);
	// replayed, records replayed from orphaned segments; syncErrors, failed fsyncs; appendErrors,
	// failed appends. JournalStats reads them.
	pending, replayed, syncErrors, appendErrors atomic.Int64

	// pf wakes the prefaulter of a mapped journal (journal_map.go).
	pf chan struct{}

	stop chan struct{}
	done chan struct{}
}

// segment is one journal file of this process.
type segment struct {
	f       *os.File // nil once closed
	path    string
	m       []byte // mapped journals: the whole file, mapped shared read/write
	size    int64  // bytes in use: the header and the lines
	pending int64  // records appended and not yet written to the database
	full    bool   // no longer appended to: deleted (or kept as the spare) once pending reaches 0
	faulted bool   // a store into its mapping faulted: never appended to again
	dirty   bool   // written since the last fsync
	deleted bool

	// ready is how far the mapping's pages are known mapped writable and dirty, from the page of
	// the append position on (prefaulted, journal_map.go); 0 when not known: after an fsync (which
	// write-protects the pages it writes back) and when the segment is emptied. pfMu is held while
	// the mapping is prefaulted and while it is unmapped.
	ready atomic.Int64
	pfMu  sync.Mutex
}

// OpenJournal opens a fresh segment of this process in cfg.Dir and starts the fsync loop; Close
// ends it. Segments are mapped where the platform and the file system allow it (the first
// segment decides, logged when it cannot be), written with write(2) otherwise.
func OpenJournal(cfg JournalConfig) (*Journal, error) {
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = time.Second
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 8 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("usage journal: %w", err)
	}
	j := &Journal{cfg: cfg, pf: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	j.cond = sync.NewCond(&j.mu)
	j.mapped = canMap && !cfg.noMap
	j.header = journalHeader(segMapped, cfg.Database)
	if !j.mapped {
		j.header = journalHeader(segWritten, cfg.Database)
	}
	seg, err := j.newSegment(0)
	if err != nil && j.mapped {
		cfg.Log.Warn("usage journal: segments cannot be mapped here; appending with write(2)", "error", err)
		j.mapped, j.header = false, journalHeader(segWritten, cfg.Database)
		seg, err = j.newSegment(0)
	}
	if err != nil {
		return nil, err
	}
	j.cur, j.segs = seg, []*segment{seg}
	go j.syncLoop()
	return j, nil
}

// newSegment creates a segment under a temporary name, locks it, writes its header and only then
// gives it its final name, so that no scanner ever sees an unlocked live segment. A mapped
// segment is preallocated to SegmentBytes, or to room bytes when more.
func (j *Journal) newSegment(room int64) (*segment, error) {
	if seg := j.spareSeg; seg != nil && room <= int64(len(seg.m)) {
		j.spareSeg = nil
		seg.full = false
		return seg, nil
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	base := "usage-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + hex.EncodeToString(rnd[:])
	tmp := filepath.Join(j.cfg.Dir, base+journalTmpExt)
	flags := os.O_CREATE | os.O_EXCL | os.O_WRONLY | os.O_APPEND
	if j.mapped {
		flags = os.O_CREATE | os.O_EXCL | os.O_RDWR // a shared writable mapping needs a read-write descriptor
	}
	f, err := os.OpenFile(tmp, flags, 0o600) //nolint:gosec // the operator's journal directory
	if err != nil {
		return nil, fmt.Errorf("usage journal: %w", err)
	}
	seg := &segment{f: f, size: int64(len(j.header))}
	fail := func(err error) (*segment, error) {
		seg.close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("usage journal: %w", err)
	}
	if ok, err := tryLock(f); err != nil || !ok {
		return fail(errors.Join(errors.New("cannot lock a new segment"), err))
	}
	if j.mapped {
		if seg.m, err = mapFile(f, max(j.cfg.SegmentBytes, room)); err != nil {
			return fail(err)
		}
		if err := mapStore(seg.m, j.header); err != nil {
			return fail(err)
		}
	} else if _, err := f.Write(j.header); err != nil {
		return fail(err)
	}
	seg.path = filepath.Join(j.cfg.Dir, base+journalExt)
	if err := os.Rename(tmp, seg.path); err != nil {
		return fail(err)
	}
	return seg, nil
}

// close unmaps and closes a segment's file (idempotent).
func (s *segment) close() {
	s.pfMu.Lock() // not while it is being prefaulted
	defer s.pfMu.Unlock()
	if s.m != nil {
		_ = unmap(s.m)
		s.m = nil
	}
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
}

// Append adds rec's line to the current segment (no fsync) and returns the segment, to be passed
// to Written once the record is in the database. When it returns without error the line is in
// the page cache: it survives the process.
func (j *Journal) Append(rec *Record) (*segment, error) {
	if j.mapped {
		return j.appendMapped(rec)
	}
	return j.appendWrite(rec)
}

// rotate makes next the current segment; the former one is full (j.mu held).
func (j *Journal) rotate(next *segment) {
	old := j.cur
	j.cur, old.full = next, true
	j.segs = append(j.segs, next)
	j.retire(old)
}

// appendFailed counts n records that could not be appended, logs the first failure of a streak
// and returns err (j.mu held).
func (j *Journal) appendFailed(err error, n int64) error {
	j.appendErrors.Add(n)
	if !j.failing {
		j.cfg.Log.Error("usage journal: append failed; usage records are only in memory until it recovers", "error", err)
	}
	j.failing = true
	return err
}

// appended counts n records appended to seg (j.mu held).
func (j *Journal) appended(seg *segment, n int64) {
	if j.failing {
		j.cfg.Log.Info("usage journal: appending again")
		j.failing = false
	}
	seg.dirty = true
	j.pending.Add(n)
}

// Written notes that n records appended to seg are durable in the database: a full segment
// without pending records is deleted, the current one emptied down to its header (appended to
// from there again).
func (j *Journal) Written(seg *segment, n int64) {
	if seg == nil || n == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	seg.pending -= n
	j.pending.Add(-n)
	if seg.pending > 0 || j.closed {
		return
	}
	if seg.full {
		j.retire(seg)
		return
	}
	if seg.size > int64(len(j.header)) {
		if err := j.empty(seg); err != nil {
			j.cfg.Log.Warn("usage journal: empty the current segment", "error", err)
			return
		}
		seg.size = int64(len(j.header))
	}
}

// empty drops the lines of a segment without pending records (j.mu held): a mapped one ends
// right after its header, one NUL byte stored over its first line (one store: it reads empty from
// then on, whenever the process dies); another one is truncated. (A power loss before the next
// fsync may keep some pages' old contents and not others', and so show lines of before the
// emptying past the new ones, as it may keep a truncated file's old lines: those records are in
// the database, and the replay skips them by request id.)
func (j *Journal) empty(seg *segment) error {
	if seg.m == nil {
		return seg.f.Truncate(int64(len(j.header)))
	}
	if err := mapStore(seg.m[len(j.header):], nil); err != nil {
		seg.full, seg.faulted = true, true // not appended to again; deleted (the pending count is 0) by the next rotation
		return err
	}
	seg.dirty = true
	seg.ready.Store(0) // appended to from its start again: the pages there may be clean since the last fsync
	return nil
}

// retire deletes a full segment once nothing in it is pending (j.mu held); the next fsync round
// closes it. A mapped one of the usual size is emptied and kept as the spare instead, when there
// is none yet.
func (j *Journal) retire(seg *segment) {
	if seg.pending > 0 || seg.deleted || seg == j.spareSeg {
		return
	}
	for i, s := range j.segs {
		if s == seg {
			j.segs = append(j.segs[:i], j.segs[i+1:]...)
			break
		}
	}
	if j.spareSeg == nil && seg.m != nil && !seg.faulted && int64(len(seg.m)) == j.cfg.SegmentBytes && !j.closed {
		if err := j.empty(seg); err == nil {
			seg.size = int64(len(j.header))
			j.spareSeg = seg
			return
		}
	}
	if err := os.Remove(seg.path); err != nil {
		j.cfg.Log.Warn("usage journal: remove a written segment", "path", seg.path, "error", err)
	}
	seg.deleted = true
	j.retired = append(j.retired, seg)
}

// syncLoop fsyncs the segments written since the last round, every SyncEvery; a mapped journal's
// prefaulter runs beside it, and both have stopped when done is closed.
func (j *Journal) syncLoop() {
	defer close(j.done)
	if j.mapped {
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			j.prefaultLoop()
		}()
		defer func() { <-stopped }()
	}
	t := time.NewTicker(j.cfg.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			j.sync()
		}
	}
}

// sync fsyncs the dirty segments (for a mapped one that writes back the pages stored into) and
// closes the segments deleted since the last round.
func (j *Journal) sync() {
	type dirty struct {
		seg *segment
		f   *os.File
	}
	var files []dirty
	j.mu.Lock()
	for _, seg := range j.segs {
		if seg.dirty {
			seg.dirty = false
			files = append(files, dirty{seg, seg.f})
		}
	}
	if seg := j.spareSeg; seg != nil && seg.dirty {
		seg.dirty = false
		files = append(files, dirty{seg, seg.f})
	}
	retired := j.retired
	j.retired = nil
	j.mu.Unlock()
	for _, seg := range retired {
		seg.close()
	}
	for _, d := range files {
		if err := d.f.Sync(); err != nil {
			j.syncErrors.Add(1)
			j.cfg.Log.Warn("usage journal: fsync", "error", err)
		}
		d.seg.ready.Store(0) // the pages written back are write-protected again
	}
}

// Close stops the fsync loop, deletes the segments whose records are all written and leaves the
// others (a shutdown that could not write everything) for the next start to replay.
func (j *Journal) Close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.closed = true
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	j.finishWrites()
	for _, seg := range j.retired {
		seg.close()
	}
	j.retired = nil
	if seg := j.spareSeg; seg != nil { // nothing pending: all written
		_ = os.Remove(seg.path)
		seg.close()
		j.spareSeg = nil
	}
	for _, seg := range j.segs {
		if seg.pending == 0 {
			_ = os.Remove(seg.path)
		} else {
			_ = seg.f.Sync()
			j.cfg.Log.Warn("usage journal: records not yet written stay for the next start", "records", seg.pending, "path", seg.path)
		}
		seg.close()
	}
	j.segs = nil
}

// JournalStats are the journal's counters since the process started.
type JournalStats struct {
	// Pending is the number of records appended and not yet written to the database.
	Pending int64
	// Replayed counts records replayed from orphaned segments (written, or found written).
	Replayed int64
	// SyncErrors counts failed fsyncs; AppendErrors failed appends (such records are only in
	// memory until written).
	SyncErrors, AppendErrors int64
}

// Stats reads the journal's counters (zero for a nil journal).
func (j *Journal) Stats() JournalStats {
	if j == nil {
		return JournalStats{}
	}
	return JournalStats{Pending: j.pending.Load(), Replayed: j.replayed.Load(), SyncErrors: j.syncErrors.Load(),
		AppendErrors: j.appendErrors.Load()}
}
