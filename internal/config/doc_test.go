package config_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/config"
)

// TestDocUpToDate fails when docs/configuration.md's table is not what `make generate` writes.
func TestDocUpToDate(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	want, err := config.RewriteDoc(string(b))
	require.NoError(t, err)
	require.Equal(t, want, string(b), "docs/configuration.md is out of date: run make generate")
}
