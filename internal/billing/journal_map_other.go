//go:build !linux

package billing

import (
	"errors"
	"os"
)

// canMap says segments are preallocated and mapped on this platform: here they are written with
// write(2).
const canMap = false

func mapFile(*os.File, int64) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmap([]byte) error { return nil }

func prefaultPages([]byte) error { return errors.ErrUnsupported }
