package billing

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
)

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
// the segment belongs to another database (or is not a segment). Segments of both versions are
// read, whichever this process writes: written ones to their end, mapped ones to their first NUL.
func (j *Journal) read(o orphan) (recs []Record, damaged int, ours bool, err error) {
	br := bufio.NewReaderSize(o.f, 64<<10)
	head, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, false, err
	}
	var toNUL bool
	switch {
	case bytes.Equal(head, journalHeader(segWritten, j.cfg.Database)):
	case bytes.Equal(head, journalHeader(segMapped, j.cfg.Database)):
		toNUL = true
	default:
		// Another database's segment (or not a segment at all) is left alone.
		return nil, 0, false, nil
	}
	err = eachLine(br, toNUL, func(line []byte) {
		if rec, perr := parseLine(line); perr == nil {
			recs = append(recs, rec)
		} else {
			damaged++
		}
	})
	return recs, damaged, true, err
}

// eachLine calls fn with each line of br, its newline included when it has one (fn must not keep
// the slice). With toNUL the lines end at the first NUL byte: what precedes it on its line is a
// line cut short by a crash, passed to fn like the others.
func eachLine(br *bufio.Reader, toNUL bool, fn func(line []byte)) error {
	var long []byte // a line longer than br's buffer, gathered
	for {
		chunk, err := br.ReadSlice('\n')
		if toNUL {
			if i := bytes.IndexByte(chunk, 0); i >= 0 {
				if long = append(long, chunk[:i]...); len(long) > 0 {
					fn(long)
				}
				return nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if len(long) > 0 {
			long = append(long, chunk...)
			chunk, long = long, long[:0]
		}
		if len(chunk) > 0 {
			fn(chunk)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
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
