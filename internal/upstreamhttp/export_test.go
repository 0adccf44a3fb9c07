package upstreamhttp

import "time"

// SetUncheckedIdle sets how long an idle connection may be taken without the liveness check (0:
// always checked).
func SetUncheckedIdle(t *Transport, d time.Duration) { t.uncheckedIdle = d }
