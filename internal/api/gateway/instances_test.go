package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

func TestChatCompletionWithoutRedis(t *testing.T) {
	t.Parallel()
	b := setup(t, apptest.WithoutRedis())
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "in process", Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 2}})
	res, err := b.sdk.Chat.Completions.New(context.Background(), params())
	require.NoError(t, err)
	require.Equal(t, "in process", res.Choices[0].Message.Content)
	b.env.FlushUsage()
	require.Equal(t, int64(1_000_000-(3+14)), b.env.Balance(b.user.ID))
}

// TestTwoInstances shares one database and Redis between two app instances: a channel, price and
// key made through the first serve on the second, and a balance change on the first reaches the
// second's cache.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	other := apptest.New(t, apptest.Sharing(a))
	// The second instance loaded its routing snapshot at start, before the channel existed.
	a.Channel("shared", []string{model}, "sk-upstream-shared-0001")
	a.Price(model, inPrice, outPrice)
	u := a.NewUser("carol", 1_000_000)
	sdk := client(other, u.Key)
	a.Upstream.Enqueue(fakeupstream.Reply{Text: "from b", Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 1}})
	require.Eventually(t, func() bool {
		res, err := sdk.Chat.Completions.New(context.Background(), params())
		return err == nil && res.Choices[0].Message.Content == "from b"
	}, 3*time.Second, 20*time.Millisecond, "instance b sees instance a's channel")

	// Disabling the user on a stops b at once.
	zero := int64(0)
	_, err := a.Admin().UserUpdateWithResponse(context.Background(), u.ID, adminUserBalance(zero))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := sdk.Chat.Completions.New(context.Background(), params())
		return err != nil && statusOf(err) == 402
	}, 3*time.Second, 20*time.Millisecond, "instance b sees the balance set on instance a")
}
