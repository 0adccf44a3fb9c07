package limits

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// persist runs one of a ticket's scripts (admit or release, both idempotent per ticket) until
// Redis answers, and returns the first error that says Redis cannot be reached (the caller then
// counts in process) or the last one once slowBudget has passed. Any other failure — a read
// timeout of a busy server or a starved process, a full connection pool, a cluster resharding —
// means Redis is there but slow: the same script is sent again after a short pause. Counting
// such a call in process instead would make the limits per instance exactly when the machine is
// loaded, and exactness must not depend on the machine's speed.
func (l *Limiter) persist(ctx context.Context, what string, run func(context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	var deadline time.Time
	pause := 5 * time.Millisecond
	for {
		err := run(ctx)
		if err == nil || unreachable(err) || refused(err) {
			return err
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(l.slowBudget)
			l.log.Warn("limits: Redis answered late; sending the "+what+" again", "error", err)
		}
		if now.After(deadline) {
			return err
		}
		l.resends.Add(1)
		time.Sleep(pause)
		pause = min(pause*2, 500*time.Millisecond)
	}
}

// refused says Redis answered the script with an error that sending it again cannot change (a
// script error, a command refused); the transient ones — loading, busy, a cluster moving slots
// or failing over — are not refusals.
func refused(err error) bool {
	if errors.Is(err, errUnexpected) {
		return true
	}
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "MOVED", "ASK"} {
		if strings.HasPrefix(msg, p) {
			return false
		}
	}
	return true
}

// unreachable says an error means Redis cannot be reached at all: a connection could not be
// made (refused, no route, name resolution), or the client is closed. Timeouts, a full pool and
// server errors do not: the server is there.
func unreachable(err error) bool {
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
