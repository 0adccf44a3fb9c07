package translate

import "math/rand/v2"

// nextID returns a random id suffix for answers whose upstream gave none.
func nextID() uint64 {
	return rand.Uint64() //nolint:gosec // ids must not collide, not be secret
}
