package limits_test

import (
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/limits"
)

// FuzzParseWindow: a window is accepted only between one second and MaxWindow, and never panics.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"60s", "1m", "3h", "1d", "31d", "32d", "1h30m", "0s", "-1d", " 2d ", "d", "9223372036854775807d", "1e9h", "999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := limits.ParseWindow(s)
		if err == nil && (d < time.Second || d > limits.MaxWindow) {
			t.Fatalf("ParseWindow(%q) = %v, outside [1s, %v]", s, d, limits.MaxWindow)
		}
	})
}
