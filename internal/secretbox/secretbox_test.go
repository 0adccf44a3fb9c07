package secretbox_test

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/secretbox"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newBox(t *testing.T, k []byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(k)
	require.NoError(t, err)
	return b
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		_, err := secretbox.New(make([]byte, n))
		require.EqualError(t, err, "encryption key must be 32 bytes", "key of %d bytes", n)
	}
	_, err := secretbox.New(key(1))
	require.NoError(t, err)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	box := newBox(t, key(7))
	for _, plain := range []string{"", "x", "sk-upstream-aaaa1111", "密钥 🔑 with\x00nul", string(bytes.Repeat([]byte("a"), 1<<16))} {
		sealed := box.Seal(plain)
		if len(plain) >= 8 { // shorter strings can occur in random ciphertext by chance
			require.False(t, bytes.Contains(sealed, []byte(plain)), "the plaintext shows in the sealed form")
		}
		got, err := box.Open(sealed)
		require.NoError(t, err)
		require.Equal(t, plain, got)
	}
	// A fresh nonce each time: the same secret never seals the same way twice.
	a, b := box.Seal("same"), box.Seal("same")
	require.NotEqual(t, a, b)
	// Another Box with the same key opens it (the key is all the state there is).
	got, err := newBox(t, key(7)).Open(a)
	require.NoError(t, err)
	require.Equal(t, "same", got)
}

func TestTamper(t *testing.T) {
	t.Parallel()
	box := newBox(t, key(7))
	sealed := box.Seal("sk-upstream-aaaa1111")
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			_, err := box.Open(bad)
			require.EqualError(t, err, "cannot decrypt secret: wrong ENCRYPTION_KEY or corrupt data", "byte %d flipped", i)
		}
	}
	for _, bad := range [][]byte{sealed[:len(sealed)-1], sealed[:12], append(bytes.Clone(sealed), 0)} {
		_, err := box.Open(bad)
		require.Error(t, err)
	}
	for _, short := range [][]byte{nil, {}, sealed[:11]} {
		_, err := box.Open(short)
		require.EqualError(t, err, "sealed secret is too short")
	}
}

func TestWrongKey(t *testing.T) {
	t.Parallel()
	sealed := newBox(t, key(7)).Seal("sk-upstream-aaaa1111")
	_, err := newBox(t, key(8)).Open(sealed)
	require.EqualError(t, err, "cannot decrypt secret: wrong ENCRYPTION_KEY or corrupt data")
	require.NotContains(t, err.Error(), "aaaa1111")
}

func TestTail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "****"},
		{"abc", "****"},
		{"12345678", "****"},
		{"123456789", "****6789"},
		{"sk-upstream-aaaa1111", "****1111"},
		// Runes, not bytes: nine characters show the last four, whole.
		{"密钥密钥密钥密钥密", "****钥密钥密"},
		{"密钥密钥密钥密钥", "****"},
		{"key-x🔑🔑🔑🔑", "****🔑🔑🔑🔑"},
	}
	for _, tt := range tests {
		got := secretbox.Tail(tt.in)
		require.Equal(t, tt.want, got, "Tail(%q)", tt.in)
		require.True(t, utf8.ValidString(got))
	}
}
