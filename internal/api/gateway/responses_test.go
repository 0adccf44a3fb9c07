package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// respTurn is what a Responses API caller saw of one answer.
type respTurn struct {
	res       *responses.Response
	text      string
	summary   string
	calls     []responses.ResponseFunctionToolCall
	events    []string // streamed event types, in order
	assembled string   // a stream's text, assembled by the SDK's accumulator from the deltas
}

// respSend sends one Responses API call, normal or streamed; a stream is assembled by the SDK's
// ResponseAccumulator (which checks every event's fields and indices) and its terminal response.
func respSend(t *testing.T, sdk openai.Client, p responses.ResponseNewParams, stream bool) respTurn {
	t.Helper()
	var tr respTurn
	if stream {
		s := sdk.Responses.NewStreaming(context.Background(), p)
		var acc responses.ResponseAccumulator
		for s.Next() {
			ev := s.Current()
			tr.events = append(tr.events, ev.Type)
			var se responses.ResponsesServerEventUnion
			require.NoError(t, json.Unmarshal([]byte(ev.RawJSON()), &se))
			require.NoError(t, acc.AddEvent(se), "%s", ev.RawJSON())
		}
		require.NoError(t, s.Err())
		res, err := acc.ReconstructedResponse()
		require.NoError(t, err)
		tr.res, tr.assembled = res, acc.Snapshot().OutputText()
	} else {
		res, err := sdk.Responses.New(context.Background(), p)
		require.NoError(t, err)
		tr.res = res
	}
	for _, it := range tr.res.Output {
		switch it.Type {
		case "message":
			for _, c := range it.Content {
				tr.text += c.Text
			}
		case "reasoning":
			for _, s := range it.Summary {
				tr.summary += s.Text
			}
		case "function_call":
			tr.calls = append(tr.calls, it.AsFunctionCall())
		}
	}
	return tr
}

// respFirstInput is turn 1's input: a user text with an image.
func respFirstInput() responses.ResponseInputParam {
	return responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage(responses.ResponseInputMessageContentListParam{
		responses.ResponseInputContentParamOfInputText("what is this, and the weather in Paris?"),
		{OfInputImage: &responses.ResponseInputImageParam{ImageURL: openai.String("data:image/png;base64," + pngB64),
			Detail: responses.ResponseInputImageDetailAuto}},
	}, responses.EasyInputMessageRoleUser)}
}

func respParams(model string, input responses.ResponseInputParam) responses.ResponseNewParams {
	weather := responses.ToolParamOfFunction("get_weather", weatherSchema, false)
	weather.OfFunction.Description = openai.String("Weather by city")
	return responses.ResponseNewParams{Model: model, Instructions: openai.String("be terse"),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}, Tools: []responses.ToolUnionParam{weather},
		Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow}}
}

// TestResponsesTranslated drives openai-go's Responses client against a Claude and a Gemini
// channel, normal and streamed: reasoning summary, text and a function call from a prompt with an
// image, the call's output sent back as a function_call_output, usage as the Responses API
// reports it, the exact charge and the usage log; a stream assembled by the SDK equals the
// normal answer to the same upstream reply.
func TestResponsesTranslated(t *testing.T) {
	t.Parallel()
	for _, up := range []string{"anthropic", "gemini"} {
		t.Run(up, func(t *testing.T) {
			t.Parallel()
			env, user := matrixEnv(t)
			model := upstreamModels[up]
			sdk := client(env, user.Key)
			var normal respTurn
			for _, stream := range []bool{false, true} {
				// Turn 1: reasoning, text and a tool call.
				env.Upstream.Enqueue(fakeupstream.Reply{Thinking: "the user wants weather", Text: "A tiny PNG.",
					ToolCalls: []fakeupstream.ToolCall{{Name: "get_weather", Args: `{"city":"Paris"}`}}, Usage: &upstreamUsage})
				t1 := respSend(t, sdk, respParams(model, respFirstInput()), stream)
				require.Equal(t, "A tiny PNG.", t1.text)
				require.Equal(t, "the user wants weather", t1.summary)
				require.Len(t, t1.calls, 1)
				require.Equal(t, "get_weather", t1.calls[0].Name)
				require.NotEmpty(t, t1.calls[0].CallID)
				require.JSONEq(t, `{"city":"Paris"}`, t1.calls[0].Arguments)
				require.Equal(t, responses.ResponseStatusCompleted, t1.res.Status)
				require.Equal(t, model, t1.res.Model)
				u := t1.res.Usage
				require.Equal(t, int64(11), u.InputTokens, "input tokens, cache included")
				require.Equal(t, int64(4), u.InputTokensDetails.CachedTokens)
				require.Equal(t, int64(5), u.OutputTokens)
				require.Equal(t, int64(16), u.TotalTokens)
				if up == "gemini" { // Claude does not report reasoning tokens apart
					require.Equal(t, int64(2), u.OutputTokensDetails.ReasoningTokens)
				}
				reqs := env.Upstream.Requests()
				first := reqs[len(reqs)-1]
				checkFirstRequest(t, up, first)
				checkReasoningRequested(t, up, first.Body)
				if stream {
					require.Equal(t, "A tiny PNG.", t1.assembled)
					require.Equal(t, "response.created", t1.events[0])
					require.Equal(t, "response.completed", t1.events[len(t1.events)-1])
					require.Contains(t, t1.events, "response.reasoning_summary_text.delta")
					require.Contains(t, t1.events, "response.function_call_arguments.delta")
					requireSameAnswer(t, normal.res, t1.res)
				} else {
					normal = t1
				}

				// Turn 2: the conversation so far, with the call's output.
				in := respFirstInput()
				for _, it := range t1.res.Output {
					switch it.Type {
					case "reasoning":
						in = append(in, responses.ResponseInputItemUnionParam{OfReasoning: &responses.ResponseReasoningItemParam{
							ID: it.ID, Summary: []responses.ResponseReasoningItemSummaryParam{{Text: t1.summary}}}})
					case "message":
						in = append(in, responses.ResponseInputItemParamOfMessage(t1.text, responses.EasyInputMessageRoleAssistant))
					case "function_call":
						c := it.AsFunctionCall()
						in = append(in, responses.ResponseInputItemParamOfFunctionCall(c.Arguments, c.CallID, c.Name))
						out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny")
						out.OfFunctionCallOutput.CallID = openai.String(c.CallID)
						in = append(in, out)
					}
				}
				env.Upstream.Enqueue(fakeupstream.Reply{Text: "It is sunny.", Usage: &fakeupstream.Usage{PromptTokens: 20, CompletionTokens: 3}})
				t2 := respSend(t, sdk, respParams(model, in), stream)
				require.Equal(t, "It is sunny.", t2.text)
				require.Empty(t, t2.calls)
				reqs = env.Upstream.Requests()
				checkToolResult(t, up, reqs[len(reqs)-1])
			}

			// Two turns, normal and streamed: each charged exactly, its tokens logged as reported.
			ls := logs(t, env, user.ID)
			require.Len(t, ls, 4)
			turn1 := 0
			for _, l := range ls {
				require.Equal(t, http.StatusOK, l.StatusCode)
				require.Equal(t, "/v1/responses", l.Endpoint)
				switch l.Quota {
				case wantQuota:
					turn1++
					require.Equal(t, int64(11), l.PromptTokens)
					require.Equal(t, int64(5), l.CompletionTokens)
					require.Equal(t, int64(4), l.CachedTokens)
				default:
					require.Equal(t, int64(20*3+3*7), l.Quota, "turn 2 charged exactly: %+v", l)
				}
			}
			require.Equal(t, 2, turn1, "turn 1 charged exactly, normal and streamed: %+v", ls)
			require.Equal(t, int64(1_000_000-2*wantQuota-2*(20*3+3*7)), env.Balance(user.ID))
		})
	}
}

// checkReasoningRequested checks that effort "low" reached the upstream as its thinking budget.
func checkReasoningRequested(t *testing.T, up string, body []byte) {
	t.Helper()
	b := gjson.ParseBytes(body)
	switch up {
	case "anthropic":
		require.Equal(t, "enabled", b.Get("thinking.type").String(), "%s", body)
		require.Equal(t, int64(2048), b.Get("thinking.budget_tokens").Int())
	case "gemini":
		require.Equal(t, int64(2048), b.Get("generationConfig.thinkingConfig.thinkingBudget").Int(), "%s", body)
		require.True(t, b.Get("generationConfig.thinkingConfig.includeThoughts").Bool())
	}
}

// requireSameAnswer compares two answers item by item, ids aside.
func requireSameAnswer(t *testing.T, want, got *responses.Response) {
	t.Helper()
	require.Len(t, got.Output, len(want.Output))
	for i := range want.Output {
		w, g := want.Output[i], got.Output[i]
		require.Equal(t, w.Type, g.Type)
		require.Equal(t, w.Status, g.Status)
		require.Equal(t, w.CallID, g.CallID)
		require.Equal(t, w.Name, g.Name)
		require.Equal(t, w.Arguments, g.Arguments)
		require.Equal(t, len(w.Content), len(g.Content))
		for j := range w.Content {
			require.Equal(t, w.Content[j].Text, g.Content[j].Text)
		}
		require.Equal(t, len(w.Summary), len(g.Summary))
		for j := range w.Summary {
			require.Equal(t, w.Summary[j].Text, g.Summary[j].Text)
		}
	}
	require.Equal(t, want.Usage.InputTokens, got.Usage.InputTokens)
	require.Equal(t, want.Usage.OutputTokens, got.Usage.OutputTokens)
	require.Equal(t, want.Usage.InputTokensDetails, got.Usage.InputTokensDetails)
	require.Equal(t, want.Usage.OutputTokensDetails.ReasoningTokens, got.Usage.OutputTokensDetails.ReasoningTokens)
	require.Equal(t, want.Status, got.Status)
}

// TestResponsesTranslatedErrors checks the OpenAI error shape for Responses callers of a Claude or
// Gemini model: an upstream error, a request the other protocol cannot express, and a stream cut
// mid-way, which ends with an error event (never response.completed) and is logged 502.
func TestResponsesTranslatedErrors(t *testing.T) {
	t.Parallel()
	env, user := matrixEnv(t)
	ctx := context.Background()
	sdk := client(env, user.Key)
	hi := responses.ResponseNewParams{Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}}

	for _, model := range []string{"m-claude", "m-gemini"} {
		// The upstream's 400, in OpenAI's shape.
		env.Upstream.Enqueue(fakeupstream.Reply{Status: 400})
		p := hi
		p.Model = model
		_, err := sdk.Responses.New(ctx, p)
		var oe *openai.Error
		require.ErrorAs(t, err, &oe)
		require.Equal(t, http.StatusBadRequest, oe.StatusCode)
		require.Equal(t, "invalid_request_error", oe.Type)
		require.Equal(t, "upstream_400", oe.Code)
		require.NotEmpty(t, oe.Message)

		// A stored conversation cannot be continued on another provider.
		p.PreviousResponseID = openai.String("resp_123")
		_, err = sdk.Responses.New(ctx, p)
		require.ErrorAs(t, err, &oe)
		require.Equal(t, http.StatusBadRequest, oe.StatusCode)
		require.Equal(t, "unsupported_request", oe.Code)
		require.Contains(t, oe.Message, "previous_response_id is not supported when the model is served by another protocol")

		// Built-in tools neither.
		p = hi
		p.Model = model
		p.Tools = []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}}
		_, err = sdk.Responses.New(ctx, p)
		require.ErrorAs(t, err, &oe)
		require.Equal(t, "unsupported_request", oe.Code)
		require.Contains(t, oe.Message, `tool type "web_search"`)

		// A stream cut mid-way: the text so far, then an error event and response.failed.
		env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four", CutAfter: 2})
		p = hi
		p.Model = model
		s := sdk.Responses.NewStreaming(ctx, p)
		var text, errCode string
		var types []string
		for s.Next() {
			ev := s.Current()
			types = append(types, ev.Type)
			switch ev.Type {
			case "response.output_text.delta":
				text += ev.Delta
			case "error":
				errCode = ev.AsError().Code
			}
		}
		require.NoError(t, s.Err())
		require.NotContains(t, types, "response.completed", "a cut stream is never a silent success")
		require.Equal(t, "stream_interrupted", errCode)
		require.Equal(t, "response.failed", types[len(types)-1])
		require.Equal(t, "one two", text)
	}
	ls := logs(t, env, user.ID)
	statuses := map[int]int{}
	for _, l := range ls {
		statuses[l.StatusCode]++
		if l.StatusCode == http.StatusBadRequest {
			require.Zero(t, l.Quota, "refused calls are not charged")
		}
	}
	require.Equal(t, 2, statuses[http.StatusBadGateway], "the cut streams are logged 502 (charged for what was generated): %+v", ls)
	require.Equal(t, 6, statuses[http.StatusBadRequest], "the upstream's 400s and the unsupported requests: %+v", ls)
}
