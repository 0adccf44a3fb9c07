//go:build linux

package billing

import (
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
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

// unmap ends a mapping made by mapFile.
func unmap(m []byte) error { return syscall.Munmap(m) }
