package fakeupstream

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func sdkClient(tb *testBundle) openai.Client {
	return openai.NewClient(option.WithBaseURL(tb.base+"/"), option.WithAPIKey(testKey),
		option.WithHTTPClient(tb.client), option.WithMaxRetries(0))
}

// TestOpenAICompletionsSDK: legacy completions, normal and streamed with the usage chunk.
func TestOpenAICompletionsSDK(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	client := sdkClient(tb)
	p := openai.CompletionNewParams{Model: "gpt-3.5-turbo-instruct",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("say hello now")}}
	res, err := client.Completions.New(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, "text_completion", string(res.Object))
	require.Equal(t, "echo: say hello now", res.Choices[0].Text)
	require.Equal(t, openai.CompletionChoiceFinishReasonStop, res.Choices[0].FinishReason)
	require.Equal(t, int64(3), res.Usage.PromptTokens)
	require.Equal(t, int64(4), res.Usage.CompletionTokens)
	require.Equal(t, int64(7), res.Usage.TotalTokens)

	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := client.Completions.NewStreaming(t.Context(), p)
	var text strings.Builder
	var usage openai.CompletionUsage
	finish := ""
	for s.Next() {
		c := s.Current()
		require.Equal(t, "text_completion", string(c.Object))
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Text)
			finish += string(c.Choices[0].FinishReason)
		}
		if c.Usage.TotalTokens > 0 {
			usage = c.Usage
		}
	}
	require.NoError(t, s.Err())
	require.Equal(t, "echo: say hello now", text.String())
	require.Equal(t, "stop", finish)
	require.Equal(t, int64(7), usage.TotalTokens)

	tb.fake.Enqueue(Reply{Text: "one two three", CutAfter: 2})
	st, _, events := tb.post(t, "/completions", `{"model":"m","prompt":"x","stream":true}`)
	require.Equal(t, http.StatusOK, st)
	require.NotContains(t, events, "[DONE]", "a cut stream never ends")
	require.Equal(t, 2, strings.Count(events, `"object":"text_completion"`))
}

// post sends body to path and returns the status, headers and whole body.
func (tb *testBundle) post(t *testing.T, path, body string) (int, http.Header, string) {
	t.Helper()
	resp, err := tb.do(t.Context(), t, http.MethodPost, path, testKey, body)
	require.NoError(t, err)
	defer closeBody(t, resp)
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, sb.String()
}

// TestOpenAIResponsesSDK: the Responses API normal and streamed, assembled by the SDK's
// accumulator (which checks every event's fields), with reasoning, text and a function call.
func TestOpenAIResponsesSDK(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	client := sdkClient(tb)
	tool := responses.ToolParamOfFunction("get_weather", map[string]any{"type": "object"}, false)
	p := responses.ResponseNewParams{Model: "gpt-5-mini", Instructions: openai.String("be terse"),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("weather in Paris")},
		Tools: []responses.ToolUnionParam{tool}}
	reply := Reply{Thinking: "look it up", Text: "Let me check.",
		ToolCalls: []ToolCall{{Name: "get_weather", Args: `{"city":"Paris"}`}},
		Usage:     &Usage{PromptTokens: 11, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2}}

	tb.fake.Enqueue(reply)
	res, err := client.Responses.New(t.Context(), p)
	require.NoError(t, err)
	checkResponse(t, res)

	tb.fake.Enqueue(reply)
	s := client.Responses.NewStreaming(t.Context(), p)
	var acc responses.ResponseAccumulator
	var types []string
	seq := int64(0)
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		require.Equal(t, seq, ev.SequenceNumber)
		seq++
		var se responses.ResponsesServerEventUnion
		require.NoError(t, json.Unmarshal([]byte(ev.RawJSON()), &se))
		require.NoError(t, acc.AddEvent(se), "%s", ev.RawJSON())
	}
	require.NoError(t, s.Err())
	got, err := acc.ReconstructedResponse()
	require.NoError(t, err)
	checkResponse(t, got)
	require.Equal(t, []string{"response.created", "response.in_progress"}, types[:2])
	require.Equal(t, "response.completed", types[len(types)-1])
	for _, typ := range []string{"response.reasoning_summary_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done"} {
		require.Contains(t, types, typ)
	}

	// Without tools in the request, no function call; the echo answer.
	res, err = client.Responses.New(t.Context(), responses.ResponseNewParams{Model: "gpt-5-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello there")}})
	require.NoError(t, err)
	require.Equal(t, "echo: hello there", res.OutputText())
	require.Equal(t, int64(2), res.Usage.InputTokens)

	// stream_options.include_usage is chat's: the Responses API refuses it.
	st, _, body := tb.post(t, "/responses", `{"model":"m","input":"hi","stream":true,"stream_options":{"include_usage":true}}`)
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "unknown_parameter", gjson.Get(body, "error.code").String())
	require.Equal(t, "stream_options.include_usage", gjson.Get(body, "error.param").String())
	st, _, body = tb.post(t, "/responses", `{"model":"m","input":"hi","stream":true,"stream_options":{"include_obfuscation":false}}`)
	require.Equal(t, http.StatusOK, st)
	require.NotContains(t, body, "obfuscation")
	require.Contains(t, body, "event: response.completed\ndata: ")

	// A cut stream stops after its second text delta, with no terminal event.
	tb.fake.Enqueue(Reply{Text: "one two three", CutAfter: 2})
	_, _, body = tb.post(t, "/responses", `{"model":"m","input":"hi","stream":true}`)
	require.Equal(t, 2, strings.Count(body, "event: response.output_text.delta"))
	require.NotContains(t, body, "response.completed")
}

// checkResponse checks the answer to TestOpenAIResponsesSDK's scripted reply.
func checkResponse(t *testing.T, res *responses.Response) {
	t.Helper()
	require.Equal(t, responses.ResponseStatusCompleted, res.Status)
	require.Equal(t, "gpt-5-mini", res.Model)
	require.Len(t, res.Output, 3)
	require.Equal(t, "reasoning", res.Output[0].Type)
	require.Equal(t, "look it up", res.Output[0].Summary[0].Text)
	require.Equal(t, "Let me check.", res.OutputText())
	call := res.Output[2].AsFunctionCall()
	require.Equal(t, "get_weather", call.Name)
	require.Equal(t, `{"city":"Paris"}`, call.Arguments)
	require.Equal(t, "call_0_get_weather", call.CallID)
	require.Equal(t, int64(11), res.Usage.InputTokens)
	require.Equal(t, int64(4), res.Usage.InputTokensDetails.CachedTokens)
	require.Equal(t, int64(5), res.Usage.OutputTokens)
	require.Equal(t, int64(2), res.Usage.OutputTokensDetails.ReasoningTokens)
	require.Equal(t, int64(16), res.Usage.TotalTokens)
}

// TestOpenAIEmbeddingsAndImagesSDK: embeddings as floats and base64, images as gpt-image-1 and
// DALL·E 3 answer them.
func TestOpenAIEmbeddingsAndImagesSDK(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	client := sdkClient(tb)
	ep := openai.EmbeddingNewParams{Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one two", "three"}}}
	emb, err := client.Embeddings.New(t.Context(), ep)
	require.NoError(t, err)
	require.Len(t, emb.Data, 2)
	require.Equal(t, int64(1), emb.Data[1].Index)
	require.Len(t, emb.Data[0].Embedding, defaultEmbeddingDims)
	require.Equal(t, int64(3), emb.Usage.PromptTokens)
	require.Equal(t, int64(3), emb.Usage.TotalTokens)

	ep.EncodingFormat = openai.EmbeddingNewParamsEncodingFormatBase64
	ep.Dimensions = openai.Int(4)
	st, _, body := tb.post(t, "/embeddings", `{"model":"m","input":["one two","three"],"encoding_format":"base64","dimensions":4}`)
	require.Equal(t, http.StatusOK, st)
	raw, err := base64.StdEncoding.DecodeString(gjson.Get(body, "data.0.embedding").String())
	require.NoError(t, err)
	require.Len(t, raw, 16)
	for j := range 4 {
		require.InDelta(t, emb.Data[0].Embedding[j], math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])), 0)
	}

	img, err := client.Images.Generate(t.Context(), openai.ImageGenerateParams{Model: "gpt-image-1",
		Prompt: "a red fox", N: openai.Int(2)})
	require.NoError(t, err)
	require.Len(t, img.Data, 2)
	require.Equal(t, FakePNG, img.Data[0].B64JSON)
	require.Equal(t, int64(3), img.Usage.InputTokens)
	require.Equal(t, int64(3), img.Usage.InputTokensDetails.TextTokens)
	require.Equal(t, int64(2*1056), img.Usage.OutputTokens)
	require.Equal(t, int64(3+2*1056), img.Usage.TotalTokens)

	img, err = client.Images.Generate(t.Context(), openai.ImageGenerateParams{Model: "dall-e-3", Prompt: "a fox"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(img.Data[0].URL, "https://"), img.Data[0].URL)
	require.False(t, img.JSON.Usage.Valid(), "DALL·E reports no usage")

	tb.fake.Enqueue(Reply{Status: http.StatusTooManyRequests})
	_, err = client.Embeddings.New(t.Context(), ep)
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "rate_limit_exceeded", apiErr.Code)
}
