package billing

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// pageSize is the size of a memory page.
var pageSize = os.Getpagesize()

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
	if r := seg.ready.Load(); r < int64(len(seg.m)) && seg.size+prefaultAhead/2 > r {
		select { // the prefaulter is asleep or will look again
		case j.pf <- struct{}{}:
		default:
		}
	}
	return seg, nil
}

// The first store into a page of a mapped segment faults, and so does the first store after an
// fsync, which write-protects the pages it writes back: the kernel allocates and zeroes the page
// or marks it dirty again, and the file system notes it (ext4's page_mkwrite). Taken by the
// appender, under the journal's mutex, that is one fault every few records, and a fault is dear
// where the kernel runs virtualised (~15 µs measured on a 2-core VM, one page every ~15 calls:
// 2-3 % of a relayed call's CPU). The prefaulter takes them ahead of the appender instead, in a
// goroutine of its own: it keeps the pages from the append position to prefaultAhead past it
// mapped writable (madvise MADV_POPULATE_WRITE, one system call for the range, then a store into
// each page, which also settles a hypervisor's own first-touch fault), and the appender wakes it
// when less than half of that is left. The store is an atomic compare-and-swap of a word with
// itself when it is zero: it never changes a byte, so a line the appender stores there at the
// same time is kept, and what a crash leaves is what it left before. A segment's ready mark
// says how far its pages were prefaulted; an fsync or an emptying of the segment resets it.

// prefaultAhead is how far past the append position the prefaulter keeps a segment's pages ready.
const prefaultAhead = 256 << 10

// prefaultLoop prefaults the current segment whenever an append wakes it, until the journal stops.
func (j *Journal) prefaultLoop() {
	for {
		select {
		case <-j.stop:
			return
		case <-j.pf:
			j.prefault()
		}
	}
}

// prefault makes the current segment's pages ready from its append position to prefaultAhead past
// it (or its end). A range that cannot be prefaulted is left to the appender's own faults until
// the next fsync.
func (j *Journal) prefault() {
	j.mu.Lock()
	seg, pos, faulted := j.cur, j.cur.size, j.cur.faulted
	seg.pfMu.Lock() // held until done: the segment is not unmapped meanwhile
	j.mu.Unlock()
	defer seg.pfMu.Unlock()
	if seg.m == nil || faulted {
		return
	}
	page := int64(pageSize)
	from := pos / page * page
	to := min(int64(len(seg.m)), from+prefaultAhead)
	ready := seg.ready.Load()
	start := max(ready, from)
	if start >= to {
		return
	}
	if err := prefaultPages(seg.m[start:to]); err != nil {
		// Marked ready to its end, so that appends stop waking the prefaulter for it: they take
		// their own faults, and the next fsync's reset tries again.
		seg.ready.Store(int64(len(seg.m)))
		return
	}
	seg.ready.CompareAndSwap(ready, to) // not when an fsync reset it meanwhile: it runs again
}

// touchPages stores into each page of m (page-aligned) without changing it: a compare-and-swap of
// the page's first word with itself when it is zero. A fault on the mapping is returned as an
// error.
func touchPages(m []byte) (err error) {
	defer faultError(&err, debug.SetPanicOnFault(true))
	for off := 0; off < len(m); off += pageSize {
		atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(&m[off])), 0, 0) //nolint:gosec // a page-aligned word of the mapping
	}
	return nil
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
