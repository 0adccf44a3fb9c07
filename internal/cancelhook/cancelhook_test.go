package cancelhook_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/cancelhook"
)

type ctxKey struct{}

// request starts a request on h as a server does: its context carries h and a value.
func request(h *cancelhook.Hook) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(cancelhook.With(context.Background(), h))
	h.Begin(ctx)
	return context.WithValue(ctx, ctxKey{}, "v"), func() { h.Fire(); cancel() }
}

func TestFireRunsTheFunctionOnce(t *testing.T) {
	t.Parallel()
	var h cancelhook.Hook
	ctx, end := request(&h)
	var ran atomic.Int32
	reg := cancelhook.AfterFunc(ctx, func() { ran.Add(1) })
	end()
	require.Equal(t, int32(1), ran.Load(), "run by the hook, in the ending goroutine")
	require.False(t, reg.Stop(), "it ran")
	h.Fire()
	require.Equal(t, int32(1), ran.Load())
}

func TestStopKeepsItFromRunning(t *testing.T) {
	t.Parallel()
	var h cancelhook.Hook
	ctx, end := request(&h)
	var ran atomic.Int32
	reg := cancelhook.AfterFunc(ctx, func() { ran.Add(1) })
	require.True(t, reg.Stop())
	require.False(t, reg.Stop(), "stopped already")
	end()
	require.Zero(t, ran.Load())
}

func TestLateStopLeavesTheNextRequestAlone(t *testing.T) {
	t.Parallel()
	var h cancelhook.Hook
	ctx, end := request(&h)
	var first, second atomic.Int32
	reg := cancelhook.AfterFunc(ctx, func() { first.Add(1) })
	end()
	ctx2, end2 := request(&h)
	reg2 := cancelhook.AfterFunc(ctx2, func() { second.Add(1) })
	require.False(t, reg.Stop(), "the first request's function ran at its end")
	end2()
	require.Equal(t, int32(1), first.Load())
	require.Equal(t, int32(1), second.Load(), "the late Stop did not clear the second request's")
	_ = reg2
}

func TestOtherContextsFallBackToContextAfterFunc(t *testing.T) {
	t.Parallel()
	wait := func(t *testing.T, ran *atomic.Int32) {
		t.Helper()
		require.Eventually(t, func() bool { return ran.Load() == 1 }, 5*time.Second, time.Millisecond)
	}
	t.Run("deadline of its own", func(t *testing.T) {
		t.Parallel()
		var h cancelhook.Hook
		ctx, end := request(&h)
		defer end()
		tctx, cancel := context.WithTimeout(ctx, time.Hour)
		var ran atomic.Int32
		cancelhook.AfterFunc(tctx, func() { ran.Add(1) })
		cancel() // the hook is not told: context.AfterFunc runs it
		wait(t, &ran)
	})
	t.Run("no hook", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		var ran atomic.Int32
		reg := cancelhook.AfterFunc(ctx, func() { ran.Add(1) })
		cancel()
		wait(t, &ran)
		require.False(t, reg.Stop())
	})
	t.Run("ended already", func(t *testing.T) {
		t.Parallel()
		var h cancelhook.Hook
		ctx, end := request(&h)
		end()
		var ran atomic.Int32
		cancelhook.AfterFunc(ctx, func() { ran.Add(1) })
		wait(t, &ran)
	})
	t.Run("second function", func(t *testing.T) {
		t.Parallel()
		var h cancelhook.Hook
		ctx, end := request(&h)
		var a, b atomic.Int32
		cancelhook.AfterFunc(ctx, func() { a.Add(1) })
		cancelhook.AfterFunc(ctx, func() { b.Add(1) }) // the slot is taken: context.AfterFunc
		end()
		wait(t, &a)
		wait(t, &b)
	})
}
