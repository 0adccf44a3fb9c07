//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package billing

import "os"

// tryLock always succeeds where flock(2) is missing: one instance per journal directory there.
func tryLock(*os.File) (bool, error) { return true, nil }
