package upstreamhttp

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deadlineConn counts the read deadlines set on it.
type deadlineConn struct {
	net.Conn
	sets int
	last time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.sets++
	c.last = t
	return nil
}

// TestArmHeaderKeepsADeadlineInItsSpan: a deadline already armed is kept while it ends the wait
// no earlier than the timeout and at most slack later; otherwise it is moved.
func TestArmHeaderKeepsADeadlineInItsSpan(t *testing.T) {
	t.Parallel()
	nc := &deadlineConn{}
	c := &conn{nc: nc}
	const d = 16 * time.Second
	t0 := time.Unix(1000, 0)
	arm := func(at time.Time, sets int, deadline time.Time) {
		t.Helper()
		require.NoError(t, c.armHeader(at, d))
		require.Equal(t, sets, nc.sets)
		require.Equal(t, deadline, nc.last)
		require.Equal(t, deadline, c.readDeadline)
	}
	arm(t0, 1, t0.Add(17*time.Second))                                  // none armed: d and the slack ahead
	arm(t0.Add(500*time.Millisecond), 1, t0.Add(17*time.Second))        // within the span: kept
	arm(t0.Add(time.Second), 1, t0.Add(17*time.Second))                 // exactly d ahead: kept
	arm(t0.Add(time.Second+1), 2, t0.Add(time.Second+1+17*time.Second)) // would end the wait early: moved
	arm(t0, 3, t0.Add(17*time.Second))                                  // more than the slack late: moved
	require.NoError(t, c.setReadDeadline(time.Time{}))                  // another deadline (none) replaces it
	require.True(t, c.readDeadline.IsZero())
	arm(t0, 5, t0.Add(17*time.Second))
}
