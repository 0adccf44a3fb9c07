package relay

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRouteTableNeverServesInvalidatedSnapshot: once a change is announced, no caller gets the
// snapshot read before it — not even the callers that arrive while another one is rebuilding
// (they wait for that rebuild, which serves them all). Before, the stale flag was cleared when
// a rebuild began, so concurrent callers got the old snapshot until it ended: a freshly created
// channel answered 404 model_not_found to a burst of calls.
func TestRouteTableNeverServesInvalidatedSnapshot(t *testing.T) {
	t.Parallel()
	old := &snapshot{models: []string{"old"}, built: time.Now()}
	fresh := &snapshot{models: []string{"new"}, built: time.Now()}
	var loads atomic.Int32
	inLoad, release := make(chan struct{}), make(chan struct{})
	rt := &routeTable{log: slog.New(slog.DiscardHandler), ttl: time.Hour}
	rt.load = func(ctx context.Context) (*snapshot, error) {
		if loads.Add(1) == 1 {
			return old, nil
		}
		require.NoError(t, ctx.Err(), "the rebuild does not depend on the caller that started it")
		close(inLoad)
		<-release
		return fresh, nil
	}
	ctx := context.Background()
	s, err := rt.get(ctx)
	require.NoError(t, err)
	require.Same(t, old, s)

	rt.invalidate()
	first := make(chan *snapshot, 1)
	cctx, cancel := context.WithCancel(ctx)
	go func() { s, _ := rt.get(cctx); first <- s }()
	<-inLoad
	cancel() // the caller that triggered the rebuild hangs up: the others still get its result
	others := make(chan *snapshot, 8)
	for range 8 {
		go func() { s, _ := rt.get(ctx); others <- s }()
	}
	select {
	case s := <-others:
		t.Fatalf("a caller got snapshot %v while the rebuild after the invalidation was running", s.models)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.Same(t, fresh, <-first)
	for range 8 {
		require.Same(t, fresh, <-others)
	}
	require.EqualValues(t, 2, loads.Load(), "one rebuild served every waiting caller")
}

// TestRouteTableRefresh: a snapshot only older than the TTL keeps serving the other callers while
// one refreshes it, and a failed rebuild keeps the previous snapshot.
func TestRouteTableRefresh(t *testing.T) {
	t.Parallel()
	old := &snapshot{models: []string{"old"}, built: time.Now().Add(-2 * time.Hour)}
	var loads atomic.Int32
	inLoad, release := make(chan struct{}), make(chan struct{})
	rt := &routeTable{log: slog.New(slog.DiscardHandler), ttl: time.Hour}
	rt.load = func(context.Context) (*snapshot, error) {
		switch loads.Add(1) {
		case 1:
			return old, nil
		case 2:
			close(inLoad)
			<-release
			return nil, errors.New("database unavailable")
		}
		return &snapshot{models: []string{"new"}, built: time.Now()}, nil
	}
	ctx := context.Background()
	_, err := rt.get(ctx)
	require.NoError(t, err)
	refreshed := make(chan *snapshot, 1)
	go func() { s, _ := rt.get(ctx); refreshed <- s }()
	<-inLoad
	s, err := rt.get(ctx) // while the refresh runs: the old snapshot, at once
	require.NoError(t, err)
	require.Same(t, old, s)
	close(release)
	require.Same(t, old, <-refreshed, "the rebuild failed: the previous snapshot is kept")
	s, err = rt.get(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"new"}, s.models, "the next call tries again")
}
