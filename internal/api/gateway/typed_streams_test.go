package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	gatewayclient "github.com/poolgate/poolgate/clients/go/gateway"
	"github.com/poolgate/poolgate/internal/apptest"
)

// collect reads a stream with the generated client's typed reader and returns its events.
func collect[T any](t *testing.T, resp *http.Response, err error) []gatewayclient.Event[T] {
	t.Helper()
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	var out []gatewayclient.Event[T]
	for ev, err := range gatewayclient.Events[T](resp.Body) {
		require.NoError(t, err)
		out = append(out, ev)
	}
	require.NotEmpty(t, out)
	return out
}

// TestTypedStreams reads every protocol's stream, relayed and translated, through the generated
// Go client's event types: each event decodes into the schema its stream names (x-event-schema),
// and the typed fields carry the answer and its usage.
func TestTypedStreams(t *testing.T) {
	t.Parallel()
	env, user := matrixEnv(t)
	gw, err := gatewayclient.NewClient(env.URL, gatewayclient.WithHTTPClient(env.HTTP),
		gatewayclient.WithRequestEditorFn(apptest.Bearer(user.Key)))
	require.NoError(t, err)
	ctx := context.Background()
	yes := true

	for _, model := range []string{upstreamModels["openai"], upstreamModels["anthropic"], upstreamModels["gemini"]} {
		t.Run("chat/"+model, func(t *testing.T) {
			var msg gatewayclient.ChatMessage_Content
			require.NoError(t, msg.FromChatMessageContent0("Say hello."))
			resp, err := gw.ChatCompletionCreate(ctx, gatewayclient.ChatCompletionRequest{Model: model, Stream: &yes,
				StreamOptions: &gatewayclient.ChatCompletionRequest_StreamOptions{AdditionalProperties: map[string]any{"include_usage": true}},
				Messages:      []gatewayclient.ChatMessage{{Role: gatewayclient.ChatMessageRoleUser, Content: &msg}}})
			events := collect[gatewayclient.ChatCompletionChunk](t, resp, err)
			var text strings.Builder
			var usage *gatewayclient.Usage
			for _, ev := range events {
				require.Equal(t, gatewayclient.ChatCompletionChunkObject("chat.completion.chunk"), ev.Data.Object)
				for _, c := range ev.Data.Choices {
					if c.Delta.Content != nil {
						text.WriteString(*c.Delta.Content)
					}
				}
				if ev.Data.Usage != nil {
					usage = ev.Data.Usage
				}
			}
			require.NotEmpty(t, text.String())
			require.NotNil(t, usage, "include_usage: the last chunk carries the usage")
			require.Positive(t, usage.TotalTokens)
		})
		t.Run("messages/"+model, func(t *testing.T) {
			maxTokens := 64
			var content gatewayclient.ClaudeMessageRequest_Messages_Content
			require.NoError(t, content.FromClaudeMessageRequestMessagesContent0("Say hello."))
			resp, err := gw.MessageCreate(ctx, nil, gatewayclient.ClaudeMessageRequest{Model: model, MaxTokens: &maxTokens, Stream: &yes,
				Messages: []gatewayclient.ClaudeMessageRequest_Messages_Item{{Role: "user", Content: content}}})
			events := collect[gatewayclient.ClaudeStreamEvent](t, resp, err)
			require.Equal(t, "message_start", events[0].Name)
			require.Equal(t, "message_start", events[0].Data.Type)
			require.NotNil(t, events[0].Data.Message)
			// message_start counts the request's input, translated too (where the request was
			// converted without the canonical form, it is read for the count).
			require.Positive(t, events[0].Data.Message.Usage.InputTokens)
			var text strings.Builder
			var stop string
			for _, ev := range events {
				require.Equal(t, ev.Name, ev.Data.Type, "the event name is the data's type")
				if d := ev.Data.Delta; d != nil && d.Text != nil {
					text.WriteString(*d.Text)
				}
				if d := ev.Data.Delta; d != nil && d.StopReason != nil {
					stop = *d.StopReason
				}
			}
			require.NotEmpty(t, text.String())
			require.NotEmpty(t, stop)
			require.Equal(t, "message_stop", events[len(events)-1].Data.Type)
		})
		t.Run("responses/"+model, func(t *testing.T) {
			var input gatewayclient.ResponseRequest_Input
			require.NoError(t, input.FromResponseRequestInput0("Say hello."))
			resp, err := gw.ResponseCreate(ctx, gatewayclient.ResponseRequest{Model: model, Stream: &yes, Input: &input})
			events := collect[gatewayclient.ResponseStreamEvent](t, resp, err)
			var text strings.Builder
			var done *gatewayclient.Response
			for _, ev := range events {
				require.Equal(t, ev.Name, ev.Data.Type)
				if ev.Data.Type == "response.output_text.delta" && ev.Data.Delta != nil {
					text.WriteString(*ev.Data.Delta)
				}
				if ev.Data.Type == "response.completed" {
					done = ev.Data.Response
				}
			}
			require.NotEmpty(t, text.String())
			require.NotNil(t, done)
			require.NotNil(t, done.Usage)
			require.Positive(t, done.Usage.TotalTokens)
		})
		t.Run("gemini/"+model, func(t *testing.T) {
			role, hello := "user", "Say hello."
			alt := gatewayclient.GeminiModelActionParamsAlt("sse")
			resp, err := gw.GeminiModelAction(ctx, model+":streamGenerateContent", &gatewayclient.GeminiModelActionParams{Alt: &alt},
				gatewayclient.GeminiRequest{Contents: &[]gatewayclient.GeminiContent{{Role: &role,
					Parts: &[]gatewayclient.GeminiPart{{Text: &hello}}}}})
			events := collect[gatewayclient.GeminiResponse](t, resp, err)
			var text strings.Builder
			var total int
			for _, ev := range events {
				for _, c := range deref(ev.Data.Candidates) {
					if c.Content == nil {
						continue
					}
					for _, p := range deref(c.Content.Parts) {
						if p.Text != nil && (p.Thought == nil || !*p.Thought) {
							text.WriteString(*p.Text)
						}
					}
				}
				if u := ev.Data.UsageMetadata; u != nil && u.TotalTokenCount != nil {
					total = *u.TotalTokenCount
				}
			}
			require.NotEmpty(t, text.String())
			require.Positive(t, total)
		})
	}
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}
