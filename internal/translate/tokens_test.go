package translate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCounterCache checks remembered counts equal fresh ones, including after a collision
// replaced an entry, and that long texts are counted without the cache.
func TestCounterCache(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	texts := []string{"be terse", "Hello there, how are you today?", strings.Repeat("word ", 2000)}
	for i := range 3 * cacheSlots {
		texts = append(texts, "text number "+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strings.Repeat(" y", i%13))
	}
	for range 2 {
		for _, s := range texts {
			require.Equal(t, c.text(s), c.Text(s), s)
		}
	}
}
