package auth

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestDummyHash checks that the hash compared for unknown users is well formed and of the
// service's cost, so a failed sign-in for an unknown user costs as much as one for a known user.
func TestDummyHash(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ set, want int }{{bcrypt.MinCost, bcrypt.MinCost}, {6, 6}} {
		s := &Service{BcryptCost: c.set}
		h := s.dummyHash()
		cost, err := bcrypt.Cost(h)
		require.NoError(t, err)
		require.Equal(t, c.want, cost)
		require.Equal(t, h, s.dummyHash(), "made once")
		err = bcrypt.CompareHashAndPassword(h, []byte("guess"))
		require.True(t, errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), "the hash must be well formed: %v", err)
	}
	require.Equal(t, DefaultBcryptCost, (&Service{}).cost())
}
