package fakeupstream

import (
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"
)

// TestOpenAISDK proves the wire format through the official SDK, as Poolgate's gateway tests will.
func TestOpenAISDK(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	client := openai.NewClient(
		option.WithBaseURL(tb.base+"/"),
		option.WithAPIKey(testKey),
		option.WithHTTPClient(tb.client),
		option.WithMaxRetries(0),
	)
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello there world")},
	}

	got, err := client.Chat.Completions.New(t.Context(), params)
	require.NoError(t, err)
	require.Equal(t, "echo: hello there world", got.Choices[0].Message.Content)
	require.Equal(t, int64(7), got.Usage.TotalTokens)

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	require.NoError(t, stream.Close())
	require.Equal(t, "echo: hello there world", acc.Choices[0].Message.Content)
	require.Equal(t, int64(3), acc.Usage.PromptTokens)
	require.Equal(t, int64(4), acc.Usage.CompletionTokens)

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
	tb.fake.Enqueue(Reply{Status: 429})
	_, err = client.Chat.Completions.New(t.Context(), params)
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 429, apiErr.StatusCode)
	require.Equal(t, "rate_limit_exceeded", apiErr.Code)
}
