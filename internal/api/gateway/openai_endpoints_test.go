package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// The models of the OpenAI endpoints tests, all on one openai channel with two accounts, priced
// 3 units per input token and 7 per output token (cached input at the input price).
const (
	embedModel = "text-embedding-3-small"
	imageModel = "gpt-image-1"
	dalleModel = "dall-e-3"
)

// sentBodies records the request bodies an SDK client sent, for comparison with what the
// upstream received.
type sentBodies struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *sentBodies) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
	}
	return next(req)
}

// last returns the last body sent.
func (s *sentBodies) last(t *testing.T) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.bodies)
	return s.bodies[len(s.bodies)-1]
}

// endpointsBundle is an app whose openai channel serves chat, embedding and image models, a user,
// and an SDK client of that user that records what it sends.
type endpointsBundle struct {
	env  *apptest.Env
	user *apptest.TestUser
	sdk  openai.Client
	sent *sentBodies
}

func endpointsSetup(t *testing.T) *endpointsBundle {
	t.Helper()
	env := apptest.New(t, apptest.WithoutRedis())
	models := []string{model, embedModel, imageModel, dalleModel}
	env.Channel("main", models, "sk-upstream-aaaa1111", "sk-upstream-bbbb2222")
	for _, m := range models {
		env.Price(m, inPrice, outPrice)
	}
	u := env.NewUser("alice", 1_000_000)
	sent := &sentBodies{}
	sdk := openai.NewClient(option.WithBaseURL(env.URL+"/v1/"), option.WithAPIKey(u.Key),
		option.WithHTTPClient(env.HTTP), option.WithMaxRetries(0), option.WithMiddleware(sent.middleware))
	return &endpointsBundle{env: env, user: u, sdk: sdk, sent: sent}
}

// lastUpstream returns the last request the fake upstream received.
func (b *endpointsBundle) lastUpstream(t *testing.T) fakeupstream.Request {
	t.Helper()
	reqs := b.env.Upstream.Requests()
	require.NotEmpty(t, reqs)
	return reqs[len(reqs)-1]
}

// requireRelayedUnchanged checks that the upstream got the caller's last body byte for byte, on
// path, with one of the pool's credentials.
func (b *endpointsBundle) requireRelayedUnchanged(t *testing.T, path string) {
	t.Helper()
	up := b.lastUpstream(t)
	require.Equal(t, "/v1"+path, up.Path)
	require.True(t, strings.HasPrefix(up.Credential, "sk-upstream-"), up.Credential)
	require.Equal(t, string(b.sent.last(t)), string(up.Body))
}

// requireOneLog checks the call's single usage log and the balance: charged exactly once.
func (b *endpointsBundle) requireOneLog(t *testing.T, endpoint string, stream bool, prompt, completion, cached, reasoning int64) {
	t.Helper()
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1, "one call, one log")
	l := ls[0]
	require.Equal(t, http.StatusOK, l.StatusCode)
	require.Equal(t, endpoint, l.Endpoint)
	require.Equal(t, stream, l.Stream)
	require.Equal(t, prompt, l.PromptTokens)
	require.Equal(t, completion, l.CompletionTokens)
	require.Equal(t, cached, l.CachedTokens)
	require.Equal(t, reasoning, l.ReasoningTokens)
	want := prompt*3 + completion*7
	require.Equal(t, want, l.Quota)
	require.Equal(t, int64(1_000_000)-want, b.env.Balance(b.user.ID))
}

func completionParams() openai.CompletionNewParams {
	return openai.CompletionNewParams{Model: model, MaxTokens: openai.Int(16),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("say hello")}}
}

// TestCompletionsRelay: a legacy completion, relayed unchanged and charged from its usage.
func TestCompletionsRelay(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "hello there", Usage: &fakeupstream.Usage{PromptTokens: 11, CompletionTokens: 5}})
	res, err := b.sdk.Completions.New(context.Background(), completionParams())
	require.NoError(t, err)
	require.Equal(t, "hello there", res.Choices[0].Text)
	require.Equal(t, openai.CompletionChoiceFinishReasonStop, res.Choices[0].FinishReason)
	require.Equal(t, int64(16), res.Usage.TotalTokens)
	b.requireRelayedUnchanged(t, "/completions")
	b.requireOneLog(t, "/v1/completions", false, 11, 5, 0, 0)
}

// TestCompletionsStreamRelay: a legacy completion stream; Poolgate asks the upstream for usage
// and withholds the usage chunk from a caller that did not ask for it.
func TestCompletionsStreamRelay(t *testing.T) {
	t.Parallel()
	for _, withUsage := range []bool{false, true} {
		name := "without_usage"
		if withUsage {
			name = "with_usage"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := endpointsSetup(t)
			b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three", Usage: &fakeupstream.Usage{PromptTokens: 9, CompletionTokens: 3}})
			p := completionParams()
			if withUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			s := b.sdk.Completions.NewStreaming(context.Background(), p)
			var text strings.Builder
			var usage int64
			for s.Next() {
				c := s.Current()
				if !withUsage {
					require.NotEmpty(t, c.Choices, "the usage chunk is withheld from a caller that did not ask for it")
					require.NotContains(t, c.RawJSON(), `"usage"`)
				}
				if len(c.Choices) > 0 {
					text.WriteString(c.Choices[0].Text)
				}
				usage += c.Usage.TotalTokens
			}
			require.NoError(t, s.Err())
			require.Equal(t, "one two three", text.String())
			up := b.lastUpstream(t)
			require.Equal(t, "/v1/completions", up.Path)
			require.True(t, gjson.GetBytes(up.Body, "stream_options.include_usage").Bool(), "%s", up.Body)
			if withUsage {
				require.Equal(t, int64(12), usage, "the caller asked for the usage chunk and got it")
				require.Equal(t, string(b.sent.last(t)), string(up.Body))
			} else {
				require.Zero(t, usage)
				var sent, got map[string]any
				require.NoError(t, json.Unmarshal(b.sent.last(t), &sent))
				require.NoError(t, json.Unmarshal(up.Body, &got))
				delete(got, "stream_options")
				require.Equal(t, sent, got, "only stream_options was added")
			}
			b.requireOneLog(t, "/v1/completions", true, 9, 3, 0, 0)
		})
	}
}

// TestCompletionsStreamCut: a legacy completion stream cut mid-way ends with an error, is logged
// 502 and not retried.
func TestCompletionsStreamCut(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four", CutAfter: 2})
	s := b.sdk.Completions.NewStreaming(context.Background(), completionParams())
	var text strings.Builder
	for s.Next() {
		if c := s.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Text)
		}
	}
	require.Error(t, s.Err(), "a cut stream is never a silent success")
	require.Equal(t, "one two", text.String())
	require.Len(t, b.env.Upstream.Requests(), 1, "no retry after the first byte")
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.Equal(t, http.StatusBadGateway, ls[0].StatusCode)
	require.Positive(t, ls[0].Quota, "generated tokens are charged (estimated)")
}

// responsesWeather asks for the weather with a function tool.
func responsesWeather() responses.ResponseNewParams {
	return responses.ResponseNewParams{Model: model, Instructions: openai.String("be terse"),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("weather in Paris?")},
		Tools: []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", weatherSchema, false)}}
}

// weatherReply is the upstream's scripted answer to responsesWeather: reasoning, text and a call,
// with cached and reasoning tokens.
func weatherReply() fakeupstream.Reply {
	return fakeupstream.Reply{Thinking: "look it up", Text: "Checking.",
		ToolCalls: []fakeupstream.ToolCall{{Name: "get_weather", Args: `{"city":"Paris"}`}},
		Usage:     &fakeupstream.Usage{PromptTokens: 11, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2}}
}

// requireWeatherAnswer checks the answer to weatherReply, as decoded or assembled by the SDK.
func requireWeatherAnswer(t *testing.T, res *responses.Response) {
	t.Helper()
	require.Equal(t, responses.ResponseStatusCompleted, res.Status)
	require.Equal(t, "Checking.", res.OutputText())
	require.Len(t, res.Output, 3)
	require.Equal(t, "look it up", res.Output[0].Summary[0].Text)
	call := res.Output[2].AsFunctionCall()
	require.Equal(t, "get_weather", call.Name)
	require.NotEmpty(t, call.CallID)
	require.JSONEq(t, `{"city":"Paris"}`, call.Arguments)
	require.Equal(t, int64(11), res.Usage.InputTokens)
	require.Equal(t, int64(4), res.Usage.InputTokensDetails.CachedTokens)
	require.Equal(t, int64(5), res.Usage.OutputTokens)
	require.Equal(t, int64(2), res.Usage.OutputTokensDetails.ReasoningTokens)
}

// TestResponsesRelay: a Responses API call to an openai channel, relayed unchanged; its usage,
// cached and reasoning tokens included, is logged and charged.
func TestResponsesRelay(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(weatherReply())
	res, err := b.sdk.Responses.New(context.Background(), responsesWeather())
	require.NoError(t, err)
	requireWeatherAnswer(t, res)
	b.requireRelayedUnchanged(t, "/responses")
	b.requireOneLog(t, "/v1/responses", false, 11, 5, 4, 2)
}

// TestResponsesStreamRelay: a Responses API stream is relayed event by event (the SDK's
// accumulator assembles the same answer), the upstream gets the caller's body unchanged (no
// stream_options, which the Responses API refuses), and the usage of response.completed is charged.
func TestResponsesStreamRelay(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(weatherReply())
	s := b.sdk.Responses.NewStreaming(context.Background(), responsesWeather())
	var acc responses.ResponseAccumulator
	var types []string
	for s.Next() {
		ev := s.Current()
		require.Equal(t, int64(len(types)), ev.SequenceNumber, "the upstream's sequence numbers, unchanged")
		types = append(types, ev.Type)
		var se responses.ResponsesServerEventUnion
		require.NoError(t, json.Unmarshal([]byte(ev.RawJSON()), &se))
		require.NoError(t, acc.AddEvent(se), "%s", ev.RawJSON())
	}
	require.NoError(t, s.Err())
	res, err := acc.ReconstructedResponse()
	require.NoError(t, err)
	requireWeatherAnswer(t, res)
	require.Equal(t, "response.created", types[0])
	require.Equal(t, "response.completed", types[len(types)-1])
	require.Contains(t, types, "response.function_call_arguments.done")

	up := b.lastUpstream(t)
	require.False(t, gjson.GetBytes(up.Body, "stream_options").Exists(), "%s", up.Body)
	b.requireRelayedUnchanged(t, "/responses")
	b.requireOneLog(t, "/v1/responses", true, 11, 5, 4, 2)
}

// respStreamEvents reads a Responses stream to its end: the events' types and raw JSON.
func respStreamEvents(t *testing.T, b *endpointsBundle, p responses.ResponseNewParams) ([]string, []string) {
	t.Helper()
	s := b.sdk.Responses.NewStreaming(context.Background(), p)
	var types, raws []string
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		raws = append(raws, ev.RawJSON())
	}
	require.NoError(t, s.Err())
	return types, raws
}

// TestResponsesStreamCut: a Responses stream the upstream cuts mid-way ends with an error event
// (code stream_interrupted), never response.completed, and is logged 502.
func TestResponsesStreamCut(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four", CutAfter: 2})
	p := responses.ResponseNewParams{Model: model, Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}}
	types, raws := respStreamEvents(t, b, p)
	require.NotContains(t, types, "response.completed", "a cut stream is never a silent success")
	require.Equal(t, 2, countOf(types, "response.output_text.delta"))
	i := indexOf(types, "error")
	require.GreaterOrEqual(t, i, 0, "an error event: %v", types)
	require.Equal(t, "stream_interrupted", gjson.Get(raws[i], "code").String(), raws[i])
	require.Len(t, b.env.Upstream.Requests(), 1, "no retry after the first byte")
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.Equal(t, http.StatusBadGateway, ls[0].StatusCode)
	require.Positive(t, ls[0].Quota, "generated tokens are charged (estimated)")
}

// TestResponsesStreamCutContinuesUpstreamStream: the events Poolgate adds to a relayed Responses
// stream that was cut continue it: no second response.created, the upstream's response id, and
// sequence numbers that keep increasing, so that the SDK's accumulator accepts them.
func TestResponsesStreamCutContinuesUpstreamStream(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four", CutAfter: 2})
	p := responses.ResponseNewParams{Model: model, Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}}
	types, raws := respStreamEvents(t, b, p)
	require.Equal(t, 1, countOf(types, "response.created"), "%v", raws)
	respID := gjson.Get(raws[0], "response.id").String()
	for i, raw := range raws {
		require.Equal(t, int64(i), gjson.Get(raw, "sequence_number").Int(), "event %d: %s", i, raw)
		if id := gjson.Get(raw, "response.id"); id.Exists() {
			require.Equal(t, respID, id.String(), raw)
		}
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestEmbeddingsRelay: embeddings as floats and as base64, relayed unchanged and charged for
// their input tokens.
func TestEmbeddingsRelay(t *testing.T) {
	t.Parallel()
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat,
		openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			b := endpointsSetup(t)
			b.env.Upstream.Enqueue(fakeupstream.Reply{Usage: &fakeupstream.Usage{PromptTokens: 9}})
			res, err := b.sdk.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: embedModel,
				EncodingFormat: format, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one two", "three"}}})
			require.NoError(t, err)
			require.Len(t, res.Data, 2)
			require.Equal(t, int64(1), res.Data[1].Index)
			if format == openai.EmbeddingNewParamsEncodingFormatBase64 {
				require.Equal(t, gjson.String, gjson.Parse(res.Data[0].JSON.Embedding.Raw()).Type)
			} else {
				require.NotEmpty(t, res.Data[0].Embedding)
			}
			require.Equal(t, int64(9), res.Usage.PromptTokens)
			b.requireRelayedUnchanged(t, "/embeddings")
			b.requireOneLog(t, "/v1/embeddings", false, 9, 0, 0, 0)
		})
	}
}

// TestImagesRelay: gpt-image-1 answers base64 images with token usage, charged as reported;
// DALL·E 3 answers a URL without usage, charged for the (estimated) prompt only.
func TestImagesRelay(t *testing.T) {
	t.Parallel()
	b := endpointsSetup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Usage: &fakeupstream.Usage{PromptTokens: 7, CompletionTokens: 1056}})
	res, err := b.sdk.Images.Generate(context.Background(), openai.ImageGenerateParams{Model: imageModel,
		Prompt: "a lighthouse at dawn", Size: openai.ImageGenerateParamsSize1024x1024})
	require.NoError(t, err)
	require.Len(t, res.Data, 1)
	require.Equal(t, fakeupstream.FakePNG, res.Data[0].B64JSON)
	require.Equal(t, int64(7), res.Usage.InputTokens)
	require.Equal(t, int64(1056), res.Usage.OutputTokens)
	b.requireRelayedUnchanged(t, "/images/generations")
	b.requireOneLog(t, "/v1/images/generations", false, 7, 1056, 0, 0)

	res, err = b.sdk.Images.Generate(context.Background(), openai.ImageGenerateParams{Model: dalleModel, Prompt: "a fox"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(res.Data[0].URL, "https://"), res.Data[0].URL)
	b.requireRelayedUnchanged(t, "/images/generations")
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 2)
	for _, l := range ls {
		if l.Model == dalleModel {
			require.Equal(t, http.StatusOK, l.StatusCode)
			require.Positive(t, l.PromptTokens)
			require.Zero(t, l.CompletionTokens, "no output tokens are invented for an answer without usage")
			require.Equal(t, l.PromptTokens*3, l.Quota)
		}
	}
}

// endpointCall sends one call of an OpenAI endpoint other than chat through the SDK.
type endpointCall struct {
	path string
	send func(b *endpointsBundle) error
}

func endpointCalls() []endpointCall {
	ctx := context.Background()
	return []endpointCall{
		{"/completions", func(b *endpointsBundle) error {
			_, err := b.sdk.Completions.New(ctx, completionParams())
			return err
		}},
		{"/responses", func(b *endpointsBundle) error {
			_, err := b.sdk.Responses.New(ctx, responsesWeather())
			return err
		}},
		{"/embeddings", func(b *endpointsBundle) error {
			_, err := b.sdk.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: embedModel,
				Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}})
			return err
		}},
		{"/images/generations", func(b *endpointsBundle) error {
			_, err := b.sdk.Images.Generate(ctx, openai.ImageGenerateParams{Model: imageModel, Prompt: "a fox"})
			return err
		}},
	}
}

// TestOpenAIEndpointsFailover: on every endpoint an upstream 500 fails over to the other account
// (one log, charged once), and a 429 on every account answers OpenAI's rate-limit error, uncharged.
func TestOpenAIEndpointsFailover(t *testing.T) {
	t.Parallel()
	for _, c := range endpointCalls() {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			t.Parallel()
			b := endpointsSetup(t)
			usage := &fakeupstream.Usage{PromptTokens: 2, CompletionTokens: 3}
			b.env.Upstream.Enqueue(fakeupstream.Reply{Status: http.StatusInternalServerError}, fakeupstream.Reply{Text: "ok", Usage: usage})
			require.NoError(t, c.send(b))
			reqs := b.env.Upstream.Requests()
			require.Len(t, reqs, 2)
			require.NotEqual(t, reqs[0].Credential, reqs[1].Credential, "the retry went to another account")
			require.Equal(t, string(reqs[0].Body), string(reqs[1].Body))
			ls := logs(t, b.env, b.user.ID)
			require.Len(t, ls, 1)
			require.Equal(t, http.StatusOK, ls[0].StatusCode)
			want := int64(2 * 3)
			if c.path != "/embeddings" { // embeddings report input tokens only
				want += 3 * 7
			}
			require.Equal(t, want, ls[0].Quota, "charged exactly once")

			retry := map[string]string{"Retry-After": "7"}
			b.env.Upstream.Enqueue(fakeupstream.Reply{Status: http.StatusTooManyRequests, Header: retry},
				fakeupstream.Reply{Status: http.StatusTooManyRequests, Header: retry})
			err := c.send(b)
			var apiErr *openai.Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
			require.Equal(t, "rate_limit_exceeded", apiErr.Code)
			require.NotEmpty(t, apiErr.Message)
			require.Equal(t, "7", apiErr.Response.Header.Get("Retry-After"))
			require.NotContains(t, apiErr.RawJSON(), "sk-up")
			ls = logs(t, b.env, b.user.ID)
			require.Len(t, ls, 2)
			for _, l := range ls {
				if l.StatusCode == http.StatusTooManyRequests {
					require.Zero(t, l.Quota)
					require.Equal(t, "/v1"+c.path, l.Endpoint)
				}
			}
			require.Equal(t, int64(1_000_000)-want, b.env.Balance(b.user.ID))
		})
	}
}
