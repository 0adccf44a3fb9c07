package gateway_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/relay"
	"github.com/poolgate/poolgate/internal/testsvc"
)

func total(bs []relay.ForwardingBucket) uint64 {
	var n uint64
	for _, b := range bs {
		n += b.Count
	}
	return n
}

// TestForwardingRecorded: with DEBUG_ADDR set, every event of a relayed and of a translated stream
// has its forwarding delay (read from the upstream → flushed to the caller) counted in the
// histograms served there.
func TestForwardingRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t, apptest.WithConfig(func(c *config.Config) { c.DebugAddr = "127.0.0.1:" + strconv.Itoa(testsvc.FreePort(t)) }))
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	for stream.Next() {
	}
	require.NoError(t, stream.Err())
	// The handler counts an event right after the flush that delivered it, so the caller may
	// have read the whole stream a moment before the last events are counted.
	g := b.env.App.Relay
	// role, one chunk per word of "echo: be terse say hello", finish, usage, [DONE]
	require.Eventually(t, func() bool { return total(g.Forwarding().Relayed) >= 6 }, 10*time.Second, 5*time.Millisecond)
	require.Zero(t, total(g.Forwarding().Translated))

	cl := anthropic.NewClient(aoption.WithBaseURL(b.env.URL), aoption.WithAPIKey(b.user.Key),
		aoption.WithHTTPClient(b.env.HTTP), aoption.WithMaxRetries(0))
	ms := cl.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: model, MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("say hello"))}})
	for ms.Next() {
	}
	require.NoError(t, ms.Err())
	// message_start with the first chunk, one per word
	require.Eventually(t, func() bool { return total(g.Forwarding().Translated) >= 4 }, 10*time.Second, 5*time.Millisecond)
	f := g.Forwarding()
	for _, bk := range append(f.Relayed, f.Translated...) {
		require.Positive(t, bk.Count)
		require.True(t, bk.LeMicros == -1 || bk.LeMicros >= 10, "bounds are in microseconds: %+v", bk)
	}
}

// TestForwardingNotMeasuredWithoutDebugAddr: without DEBUG_ADDR, where nothing could serve the
// histograms, streams are not timed at all.
func TestForwardingNotMeasuredWithoutDebugAddr(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	for stream.Next() {
	}
	require.NoError(t, stream.Err())
	b.env.FlushUsage() // the call is over: its events would have been counted by now
	f := b.env.App.Relay.Forwarding()
	require.Zero(t, total(f.Relayed)+total(f.Translated))
}
