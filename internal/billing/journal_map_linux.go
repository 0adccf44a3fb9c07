//go:build linux

package billing

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// canMap says segments are preallocated and mapped on this platform.
const canMap = true

// mapFile preallocates f to size bytes (a full disk fails here, never as a fault on a store into
// the mapping) and maps it shared, read-write.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size > math.MaxInt {
		return nil, fmt.Errorf("a segment of %d bytes cannot be mapped", size)
	}
	fd := int(f.Fd()) //nolint:gosec // a file descriptor fits an int
	for {
		err := syscall.Fallocate(fd, 0, 0, size)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EINTR) {
			return nil, fmt.Errorf("preallocate a segment of %d bytes: %w", size, err)
		}
	}
	m, err := syscall.Mmap(fd, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map a segment: %w", err)
	}
	return m, nil
}

// prefaultPages maps m, a page-aligned range of a segment's mapping, writable and dirty: one
// madvise(MADV_POPULATE_WRITE) (Linux 5.14; on an older kernel the stores below do it page by
// page), then a store into each page (touchPages), which takes a hypervisor's first-touch fault
// here rather than in the appender.
func prefaultPages(m []byte) error {
	if !noPopulateWrite.Load() {
		switch err := unix.Madvise(m, unix.MADV_POPULATE_WRITE); {
		case errors.Is(err, unix.EINVAL):
			noPopulateWrite.Store(true)
		case err != nil:
			return err
		}
	}
	return touchPages(m)
}

// noPopulateWrite says the kernel answered EINVAL to MADV_POPULATE_WRITE (older than 5.14).
var noPopulateWrite atomic.Bool

// unmap ends a mapping made by mapFile.
func unmap(m []byte) error { return syscall.Munmap(m) }
