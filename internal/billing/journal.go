package billing

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
// kills the process, the OOM killer) loses no answered call: each record is one write(2) of one
// line into the current segment file (it is then in the kernel's page cache, which outlives the
// process), and the segment is fsynced on an interval (what a power loss can take). A segment
// whose records are all written is truncated (the current one) or deleted (a full one).
//
// Each running instance appends to its own segments and holds an exclusive flock(2) on each. At
// start, and every orphanScanEvery after, an instance replays the segments of the same database
// that no live process holds (its own previous run's, or a crashed neighbour's on the same
// machine): the usage write is idempotent by request id, so a replayed record that was already
// written is skipped and nothing is charged twice.

// journalExt names segment files; a segment being created has journalTmpExt until it is locked.
const (
	journalExt    = ".journal"
	journalTmpExt = ".journal-new"
)

// headerPrefix starts a segment's first line; the database identity follows.
const headerPrefix = "#poolgate-usage-journal v1 db="

// orphanScanEvery is how often a running instance looks for segments left by dead processes.
const orphanScanEvery = 30 * time.Second

// JournalConfig places and sizes the journal.
type JournalConfig struct {
	// Dir holds the segment files (created 0700 when missing).
	Dir string
	// Database identifies the database the records belong to: a segment is replayed only into
	// the database it was written for.
	Database string
	// SyncEvery is the fsync interval (0: 1s).
	SyncEvery time.Duration
	// SegmentBytes is the size at which a new segment is started (0: 8 MiB).
	SegmentBytes int64
	Log          *slog.Logger
}

// Journal is the append-only local log of usage records (see the package comment above).
type Journal struct {
	cfg    JournalConfig
	header []byte

	mu      sync.Mutex
	cur     *segment
	segs    []*segment // open segments: the current one and full ones with pending records
	closed  bool
	failing bool // the last append failed (logged once per streak)
	// Group commit: records appended while a write is under way gather in open and go out
	// together in the next write (one write(2) for the calls finishing together); writing says
	// a write is under way, cond wakes the appenders whose group was written, spare is the
	// buffer of the last group, reused.
	open    *group
	writing bool
	cond    *sync.Cond
	spare   []byte

	// pending counts records appended and not yet written to the database (all segments);
	// replayed, records replayed from orphaned segments; syncErrors, failed fsyncs; appendErrors,
	// failed appends. JournalStats reads them.
	pending, replayed, syncErrors, appendErrors atomic.Int64

	stop chan struct{}
	done chan struct{}
}

// segment is one journal file of this process.
type segment struct {
	f       *os.File
	path    string
	size    int64
	pending int64 // records appended and not yet written to the database
	full    bool  // no longer appended to: deleted once pending reaches 0
	dirty   bool  // written since the last fsync
}

// OpenJournal opens a fresh segment of this process in cfg.Dir and starts the fsync loop; Close
// ends it.
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
	j := &Journal{cfg: cfg, header: appendText([]byte(headerPrefix), cfg.Database), stop: make(chan struct{}), done: make(chan struct{})}
	j.cond = sync.NewCond(&j.mu)
	j.header = append(j.header, '\n')
	seg, err := j.newSegment()
	if err != nil {
		return nil, err
	}
	j.cur, j.segs = seg, []*segment{seg}
	go j.syncLoop()
	return j, nil
}

// newSegment creates a segment under a temporary name, locks it, writes its header and only then
// gives it its final name, so that no scanner ever sees an unlocked live segment.
func (j *Journal) newSegment() (*segment, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	base := "usage-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + hex.EncodeToString(rnd[:])
	tmp := filepath.Join(j.cfg.Dir, base+journalTmpExt)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // the operator's journal directory
	if err != nil {
		return nil, fmt.Errorf("usage journal: %w", err)
	}
	fail := func(err error) (*segment, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("usage journal: %w", err)
	}
	if ok, err := tryLock(f); err != nil || !ok {
		return fail(errors.Join(errors.New("cannot lock a new segment"), err))
	}
	if _, err := f.Write(j.header); err != nil {
		return fail(err)
	}
	path := filepath.Join(j.cfg.Dir, base+journalExt)
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return &segment{f: f, path: path, size: int64(len(j.header))}, nil
}

// group is the records of the calls finishing together, written in one write(2).
type group struct {
	buf     []byte
	n       int64
	written bool     // the write is done (seg and err are its outcome)
	seg     *segment // where the group was written
	err     error
}

// Append writes rec's line to the current segment (no fsync) and returns the segment, to be
// passed to Written once the record is in the database. It returns once the line is written:
// appends that arrive while another write is under way are written together, in one write(2),
// by the first of them (group commit).
func (j *Journal) Append(rec *Record) (*segment, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, errors.New("usage journal closed")
	}
	g := j.open
	if g == nil {
		g = &group{buf: j.spare[:0]}
		j.spare = nil
		j.open = g
	}
	g.buf = appendLine(g.buf, rec)
	g.n++
	for !g.written {
		if j.writing {
			j.cond.Wait()
			continue
		}
		j.writeOpen() // g is the open group: no write is under way and g is not written
	}
	return g.seg, g.err
}

// writeOpen writes the open group (j.mu held; released during the write itself).
func (j *Journal) writeOpen() {
	g := j.open
	j.open, j.writing = nil, true
	if j.cur.size+int64(len(g.buf)) > j.cfg.SegmentBytes && j.cur.size > int64(len(j.header)) {
		if seg, err := j.newSegment(); err == nil {
			old := j.cur
			j.cur, old.full = seg, true
			j.segs = append(j.segs, seg)
			j.retire(old)
		} else {
			j.cfg.Log.Error("usage journal: cannot start a new segment; appending to the current one", "error", err)
		}
	}
	seg := j.cur
	seg.pending += g.n // counted before the write: Written must not truncate under it
	j.mu.Unlock()
	n, err := seg.f.Write(g.buf)
	j.mu.Lock()
	seg.size += int64(n)
	g.written, j.writing = true, false
	if j.spare == nil {
		j.spare = g.buf[:0]
	}
	g.buf = nil
	j.cond.Broadcast()
	if err != nil {
		j.appendErrors.Add(g.n)
		if !j.failing {
			j.cfg.Log.Error("usage journal: append failed; usage records are only in memory until it recovers", "error", err)
		}
		j.failing = true
		g.err = err
		seg.pending -= g.n
		return
	}
	if j.failing {
		j.cfg.Log.Info("usage journal: appending again")
		j.failing = false
	}
	seg.dirty = true
	j.pending.Add(g.n)
	g.seg = seg
}

// Written notes that n records appended to seg are durable in the database: a full segment
// without pending records is deleted, the current one truncated to its header.
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
		if err := seg.f.Truncate(int64(len(j.header))); err != nil {
			j.cfg.Log.Warn("usage journal: truncate", "error", err)
			return
		}
		seg.size = int64(len(j.header))
	}
}

// retire deletes a full segment once nothing in it is pending (j.mu held).
func (j *Journal) retire(seg *segment) {
	if seg.pending > 0 {
		return
	}
	if err := os.Remove(seg.path); err != nil {
		j.cfg.Log.Warn("usage journal: remove a written segment", "path", seg.path, "error", err)
	}
	_ = seg.f.Close()
	seg.f = nil
	for i, s := range j.segs {
		if s == seg {
			j.segs = append(j.segs[:i], j.segs[i+1:]...)
			break
		}
	}
}

// syncLoop fsyncs the segments written since the last round, every SyncEvery.
func (j *Journal) syncLoop() {
	defer close(j.done)
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

func (j *Journal) sync() {
	var files []*os.File
	j.mu.Lock()
	for _, seg := range j.segs {
		if seg.dirty {
			seg.dirty = false
			files = append(files, seg.f)
		}
	}
	j.mu.Unlock()
	for _, f := range files {
		// A segment deleted meanwhile answers ErrClosed: its records are in the database.
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			j.syncErrors.Add(1)
			j.cfg.Log.Warn("usage journal: fsync", "error", err)
		}
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
	for j.writing || j.open != nil { // appends already under way finish first
		if !j.writing {
			j.writeOpen()
			continue
		}
		j.cond.Wait()
	}
	for _, seg := range j.segs {
		if seg.pending == 0 {
			_ = os.Remove(seg.path)
		} else {
			_ = seg.f.Sync()
			j.cfg.Log.Warn("usage journal: records not yet written stay for the next start", "records", seg.pending, "path", seg.path)
		}
		_ = seg.f.Close()
	}
	j.segs = nil
}

// orphan is a segment of a dead process, locked by this one while it is replayed.
type orphan struct {
	f    *os.File
	path string
}

// orphans locks the segments of this journal's database that no live process holds.
func (j *Journal) orphans() []orphan {
	// A segment still under its temporary name died before its header was written: no records.
	if tmps, err := filepath.Glob(filepath.Join(j.cfg.Dir, "*"+journalTmpExt)); err == nil {
		for _, p := range tmps {
			if f, err := os.Open(p); err == nil { //nolint:gosec // a file in the operator's journal directory
				if ok, _ := tryLock(f); ok {
					_ = os.Remove(p)
				}
				_ = f.Close()
			}
		}
	}
	names, err := filepath.Glob(filepath.Join(j.cfg.Dir, "*"+journalExt))
	if err != nil {
		return nil
	}
	var out []orphan
	for _, p := range names {
		f, err := os.Open(p) //nolint:gosec // a segment in the operator's journal directory
		if err != nil {
			continue
		}
		if ok, err := tryLock(f); err != nil || !ok {
			_ = f.Close() // alive (this process's own segments are locked through their own descriptors)
			continue
		}
		out = append(out, orphan{f: f, path: p})
	}
	return out
}

// read returns the orphan's records and the count of damaged lines skipped; ours is false when
// the segment belongs to another database (or is not a segment).
func (j *Journal) read(o orphan) (recs []Record, damaged int, ours bool, err error) {
	br := bufio.NewReaderSize(o.f, 64<<10)
	head, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, false, err
	}
	if !bytes.Equal(head, j.header) {
		// Another database's segment (or not a segment at all) is left alone.
		return nil, 0, false, nil
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if rec, perr := parseLine(line); perr == nil {
				recs = append(recs, rec)
			} else {
				damaged++
			}
		}
		if errors.Is(err, io.EOF) {
			return recs, damaged, true, nil
		}
		if err != nil {
			return recs, damaged, true, err
		}
	}
}

// release unlocks an orphan, deleting it when its records are replayed.
func (o orphan) release(remove bool) {
	if remove {
		_ = os.Remove(o.path)
	}
	_ = o.f.Close()
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
