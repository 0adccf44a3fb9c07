package billing

import (
	"fmt"
	"runtime/debug"
)

// The mapped path of the journal (Linux): a segment is preallocated and mapped shared, and an
// append copies its line into the mapping under the journal's mutex. A store into a shared file
// mapping is in the page cache at once, so the line outlives the process as a write(2) would,
// without a system call. Past the lines in use a mapped segment is all zeros, which is where a
// reader stops.

// appendMapped copies rec's line into the current segment, starting a new one when it does not
// fit.
func (j *Journal) appendMapped(rec *Record) (*segment, error) {
	buf, _ := j.lines.Get().(*[]byte) // the line is encoded outside the mutex, into a pooled buffer
	if buf == nil {
		buf = new([]byte)
	}
	line := appendLine((*buf)[:0], rec)
	defer func() {
		if cap(line) <= 4<<10 { // an outsized line's buffer is not kept
			*buf = line
			j.lines.Put(buf)
		}
	}()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, errJournalClosed
	}
	seg := j.cur
	if seg.full || seg.size+int64(len(line)) > int64(len(seg.m)) {
		next, err := j.newSegment(int64(len(j.header) + len(line)))
		if err != nil {
			return nil, j.appendFailed(err, 1)
		}
		j.rotate(next)
		seg = next
	}
	if err := mapCopy(seg.m[seg.size:], line); err != nil {
		seg.full = true // a segment whose mapping faults is not appended to again
		return nil, j.appendFailed(err, 1)
	}
	seg.size += int64(len(line))
	seg.pending++
	j.appended(seg, 1)
	return seg, nil
}

// mapCopy copies src to the start of dst, a mapping. A fault on the mapping (SIGBUS: the file's
// storage failed, or the file was cut short under the mapping) is returned as an error instead of
// killing the process.
func mapCopy(dst, src []byte) (err error) {
	defer faultError(&err, debug.SetPanicOnFault(true))
	copy(dst, src)
	return nil
}

// mapClear zeroes dst, a mapping, its first byte first; a fault is returned as mapCopy's.
func mapClear(dst []byte) (err error) {
	defer faultError(&err, debug.SetPanicOnFault(true))
	if len(dst) > 0 {
		dst[0] = 0
		clear(dst[1:])
	}
	return nil
}

// faultError, deferred, restores the goroutine's fault setting and turns a memory fault into err;
// any other panic goes on.
func faultError(err *error, wasPanicOnFault bool) {
	debug.SetPanicOnFault(wasPanicOnFault)
	r := recover()
	if r == nil {
		return
	}
	if _, fault := r.(interface{ Addr() uintptr }); !fault {
		panic(r)
	}
	*err = fmt.Errorf("fault on a mapped segment: %v", r)
}
