package billing

import (
	"fmt"
	"runtime/debug"
)

// The mapped path of the journal (Linux): a segment is preallocated and mapped shared, and an
// append copies its line into the mapping under the journal's mutex. A store into a shared file
// mapping is in the page cache at once, so the line outlives the process as a write(2) would,
// without a system call. A mapped segment ends at its first NUL byte: the byte after the last
// line is always one (a fresh segment is all zeros), and what lies past it (lines of before the
// segment was emptied) is never read.

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
	if err := mapStore(seg.m[seg.size:], line); err != nil {
		seg.full, seg.faulted = true, true // a segment whose mapping faults is not appended to again
		return nil, j.appendFailed(err, 1)
	}
	seg.size += int64(len(line))
	seg.pending++
	j.appended(seg, 1)
	return seg, nil
}

// mapStore stores line at the start of dst, the room left in a mapped segment, and the NUL that
// then ends the segment after it; with an empty line it ends the segment at dst. The order makes
// a process that dies at any point of it (kill -9) leave the whole line or none of it: first the
// NUL after the line, then the line but its first byte, and that byte last, over the NUL that
// ended the segment until then. (The stores stay in that order: the compiler does not move them
// across the call to memmove, and a dying thread's stores up to where it stopped all reach the
// page cache.) A fault on the mapping (SIGBUS: the file's storage failed, or the file was cut
// short under the mapping) is returned as an error instead of killing the process.
func mapStore(dst, line []byte) (err error) {
	defer faultError(&err, debug.SetPanicOnFault(true))
	if len(line) < len(dst) {
		dst[len(line)] = 0
	}
	if len(line) > 0 {
		copy(dst[1:], line[1:])
		dst[0] = line[0]
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
