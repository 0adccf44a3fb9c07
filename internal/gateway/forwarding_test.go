package gateway_test

import (
	"context"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/gateway"
)

func total(bs []gateway.ForwardingBucket) uint64 {
	var n uint64
	for _, b := range bs {
		n += b.Count
	}
	return n
}

// TestForwardingRecorded: every event of a relayed and of a translated stream has its forwarding
// delay (read from the upstream → flushed to the caller) counted in the histograms served on
// DEBUG_ADDR.
func TestForwardingRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	for stream.Next() {
	}
	require.NoError(t, stream.Err())
	f := b.env.App.Gateway.Forwarding()
	// role, one chunk per word of "echo: be terse say hello", finish, usage, [DONE]
	require.GreaterOrEqual(t, total(f.Relayed), uint64(6))
	require.Zero(t, total(f.Translated))

	cl := anthropic.NewClient(aoption.WithBaseURL(b.env.URL), aoption.WithAPIKey(b.user.Key),
		aoption.WithHTTPClient(b.env.HTTP), aoption.WithMaxRetries(0))
	ms := cl.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: model, MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("say hello"))}})
	for ms.Next() {
	}
	require.NoError(t, ms.Err())
	f = b.env.App.Gateway.Forwarding()
	require.GreaterOrEqual(t, total(f.Translated), uint64(4)) // message_start with the first chunk, one per word
	for _, bk := range append(f.Relayed, f.Translated...) {
		require.Positive(t, bk.Count)
		require.True(t, bk.LeMicros == -1 || bk.LeMicros >= 10, "bounds are in microseconds: %+v", bk)
	}
}
