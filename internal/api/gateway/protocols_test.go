package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// The matrix's models: one per upstream channel type, all on the same fake upstream.
var upstreamModels = map[string]string{"openai": "m-openai", "anthropic": "m-claude", "gemini": "m-gemini"}

const pngB64 = "iVBORw0KGgo=" // the first 8 bytes of a PNG file

// matrixEnv is an app with one channel of each type and priced models (3 units per input token,
// 1 per cached input token, 7 per output token).
func matrixEnv(t *testing.T) (*apptest.Env, *apptest.TestUser) {
	t.Helper()
	env := apptest.New(t, apptest.WithoutRedis())
	root := strings.TrimSuffix(env.UpstreamURL, "/v1")
	for typ, m := range upstreamModels {
		base := root
		if typ == "openai" {
			base = env.UpstreamURL
		}
		res, err := env.Admin().ChannelCreateWithResponse(context.Background(), adminclient.ChannelCreate{
			Name: typ, Type: adminclient.ChannelType(typ), BaseUrl: base, Models: []string{m}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		a, err := env.Admin().AccountCreateWithResponse(context.Background(), res.JSON201.Id,
			adminclient.AccountCreate{Credential: "sk-upstream-" + typ + "-0001"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, a.StatusCode(), string(a.Body))
		cached := int64(1_000_000)
		pr, err := env.Admin().ModelCreateWithResponse(context.Background(), adminclient.ModelCreate{
			Name: m, InputPrice: inPrice, OutputPrice: outPrice, CachedInputPrice: wire.Opt(&cached)})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, pr.StatusCode(), string(pr.Body))
	}
	return env, env.NewUser("matrix", 1_000_000)
}

// turn is what a caller saw of one answer, in protocol-neutral words.
type turn struct {
	text, thinking string
	calls          []toolCall
	in, cached     int64 // input tokens (all) and the cached part, as the caller's protocol reported them
	out            int64
}

type toolCall struct{ id, name, args string }

// sdkCaller drives one official SDK through a two-turn conversation.
type sdkCaller interface {
	// ask sends the first turn: a system prompt, a user text with an image, a weather tool and
	// reasoning switched on.
	ask(t *testing.T, model string, stream bool) turn
	// answer sends the tool's result for the previous turn's call.
	answer(t *testing.T, model string, stream bool, c toolCall) turn
}

var weatherSchema = map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required": []string{"city"}}

// ---- OpenAI ----

type openAICaller struct {
	sdk  openai.Client
	msgs []openai.ChatCompletionMessageParamUnion
}

func (o *openAICaller) params(model string, stream bool) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: model, Messages: o.msgs, ReasoningEffort: shared.ReasoningEffortLow,
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Description: openai.String("Weather by city"), Parameters: weatherSchema})}}
	if stream {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	return p
}

func (o *openAICaller) send(t *testing.T, model string, stream bool) turn {
	t.Helper()
	p := o.params(model, stream)
	var msg openai.ChatCompletionMessage
	var usage openai.CompletionUsage
	var thinking string
	if stream {
		s := o.sdk.Chat.Completions.NewStreaming(context.Background(), p)
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			ch := s.Current()
			acc.AddChunk(ch)
			if len(ch.Choices) > 0 {
				thinking += gjson.Get(ch.Choices[0].Delta.RawJSON(), "reasoning_content").String()
			}
		}
		require.NoError(t, s.Err())
		require.NotEmpty(t, acc.Choices)
		msg, usage = acc.Choices[0].Message, acc.Usage
	} else {
		res, err := o.sdk.Chat.Completions.New(context.Background(), p)
		require.NoError(t, err)
		msg, usage = res.Choices[0].Message, res.Usage
		thinking = gjson.Get(msg.RawJSON(), "reasoning_content").String()
	}
	o.msgs = append(o.msgs, msg.ToParam())
	tr := turn{text: msg.Content, thinking: thinking, in: usage.PromptTokens, cached: usage.PromptTokensDetails.CachedTokens,
		out: usage.CompletionTokens}
	for _, c := range msg.ToolCalls {
		tr.calls = append(tr.calls, toolCall{id: c.ID, name: c.Function.Name, args: c.Function.Arguments})
	}
	return tr
}

func (o *openAICaller) ask(t *testing.T, model string, stream bool) turn {
	o.msgs = []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be terse"),
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("what is this, and the weather in Paris?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + pngB64})})}
	return o.send(t, model, stream)
}

func (o *openAICaller) answer(t *testing.T, model string, stream bool, c toolCall) turn {
	o.msgs = append(o.msgs, openai.ToolMessage("sunny", c.id))
	return o.send(t, model, stream)
}

// ---- Claude ----

type claudeCaller struct {
	sdk  anthropic.Client
	msgs []anthropic.MessageParam
}

func (a *claudeCaller) send(t *testing.T, model string, stream bool) turn {
	t.Helper()
	p := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 4096, Messages: a.msgs,
		System:   []anthropic.TextBlockParam{{Text: "be terse"}},
		Thinking: anthropic.ThinkingConfigParamOfEnabled(1024),
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather", Description: anthropic.String("Weather by city"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city"}}}}}}
	var msg anthropic.Message
	if stream {
		s := a.sdk.Messages.NewStreaming(context.Background(), p)
		for s.Next() {
			require.NoError(t, msg.Accumulate(s.Current()))
		}
		require.NoError(t, s.Err())
	} else {
		res, err := a.sdk.Messages.New(context.Background(), p)
		require.NoError(t, err)
		msg = *res
	}
	a.msgs = append(a.msgs, msg.ToParam())
	u := msg.Usage
	tr := turn{in: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens, cached: u.CacheReadInputTokens, out: u.OutputTokens}
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			tr.text += b.Text
		case "thinking":
			tr.thinking += b.Thinking
		case "tool_use":
			tr.calls = append(tr.calls, toolCall{id: b.ID, name: b.Name, args: string(b.Input)})
		}
	}
	return tr
}

func (a *claudeCaller) ask(t *testing.T, model string, stream bool) turn {
	a.msgs = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("what is this, and the weather in Paris?"),
		anthropic.NewImageBlockBase64("image/png", pngB64))}
	return a.send(t, model, stream)
}

func (a *claudeCaller) answer(t *testing.T, model string, stream bool, c toolCall) turn {
	a.msgs = append(a.msgs, anthropic.NewUserMessage(anthropic.NewToolResultBlock(c.id, "sunny", false)))
	return a.send(t, model, stream)
}

// ---- Gemini ----

type geminiCaller struct {
	sdk      *genai.Client
	contents []*genai.Content
}

func (g *geminiCaller) send(t *testing.T, model string, stream bool) turn {
	t.Helper()
	cfg := &genai.GenerateContentConfig{
		SystemInstruction: &genai.Content{Parts: []*genai.Part{{Text: "be terse"}}},
		ThinkingConfig:    &genai.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: genai.Ptr[int32](1024)},
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "get_weather",
			Description: "Weather by city", ParametersJsonSchema: weatherSchema}}}}}
	var tr turn
	content := &genai.Content{Role: "model"}
	take := func(res *genai.GenerateContentResponse) {
		if len(res.Candidates) > 0 && res.Candidates[0].Content != nil {
			for _, p := range res.Candidates[0].Content.Parts {
				content.Parts = append(content.Parts, p)
				switch {
				case p.FunctionCall != nil:
					args, _ := json.Marshal(p.FunctionCall.Args)
					tr.calls = append(tr.calls, toolCall{id: p.FunctionCall.ID, name: p.FunctionCall.Name, args: string(args)})
				case p.Thought:
					tr.thinking += p.Text
				default:
					tr.text += p.Text
				}
			}
		}
		if u := res.UsageMetadata; u != nil {
			tr.in, tr.cached = int64(u.PromptTokenCount), int64(u.CachedContentTokenCount)
			tr.out = int64(u.CandidatesTokenCount + u.ThoughtsTokenCount)
		}
	}
	if stream {
		for res, err := range g.sdk.Models.GenerateContentStream(context.Background(), model, g.contents, cfg) {
			require.NoError(t, err)
			take(res)
		}
	} else {
		res, err := g.sdk.Models.GenerateContent(context.Background(), model, g.contents, cfg)
		require.NoError(t, err)
		take(res)
	}
	g.contents = append(g.contents, content)
	return tr
}

func (g *geminiCaller) ask(t *testing.T, model string, stream bool) turn {
	g.contents = []*genai.Content{{Role: "user", Parts: []*genai.Part{genai.NewPartFromText("what is this, and the weather in Paris?"),
		{InlineData: &genai.Blob{MIMEType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")}}}}}
	return g.send(t, model, stream)
}

func (g *geminiCaller) answer(t *testing.T, model string, stream bool, c toolCall) turn {
	g.contents = append(g.contents, &genai.Content{Role: "user", Parts: []*genai.Part{
		genai.NewPartFromFunctionResponse(c.name, map[string]any{"result": "sunny"})}})
	return g.send(t, model, stream)
}

func newCaller(t *testing.T, env *apptest.Env, key, protocol string) sdkCaller {
	t.Helper()
	switch protocol {
	case "claude":
		return &claudeCaller{sdk: anthropic.NewClient(aoption.WithBaseURL(env.URL), aoption.WithAPIKey(key),
			aoption.WithHTTPClient(env.HTTP), aoption.WithMaxRetries(0))}
	case "gemini":
		c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI,
			HTTPClient: env.HTTP, HTTPOptions: genai.HTTPOptions{BaseURL: env.URL + "/"}})
		require.NoError(t, err)
		return &geminiCaller{sdk: c}
	}
	return &openAICaller{sdk: client(env, key)}
}

// upstreamUsage is what every upstream reports for the first turn: 11 input tokens of which 4
// cached (and 2 written to Claude's cache), 5 output tokens of which 2 reasoning.
var upstreamUsage = fakeupstream.Usage{PromptTokens: 11, CompletionTokens: 5, CachedTokens: 4, ReasoningTokens: 2,
	CacheWrite5mTokens: 2}

// wantQuota is the charge for upstreamUsage: 5 uncached×3 + 2 cache writes×3 (input price) +
// 4 cached×1 + 5 output×7.
const wantQuota = 5*3 + 2*3 + 4*1 + 5*7

// TestProtocolMatrix drives each official SDK against each upstream channel type, normal and
// streamed: text with reasoning, image input, a tool call round trip, usage as each protocol
// reports it, and the exact charge.
func TestProtocolMatrix(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"openai", "claude", "gemini"} {
		for up, model := range upstreamModels {
			for _, stream := range []bool{false, true} {
				name := in + "_to_" + up
				if stream {
					name += "_stream"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					env, user := matrixEnv(t)
					c := newCaller(t, env, user.Key, in)

					// Turn 1: reasoning, text and a tool call, from a prompt with an image.
					env.Upstream.Enqueue(fakeupstream.Reply{Thinking: "the user wants weather", Text: "A tiny PNG.",
						ToolCalls: []fakeupstream.ToolCall{{Name: "get_weather", Args: `{"city":"Paris"}`}}, Usage: &upstreamUsage})
					t1 := c.ask(t, model, stream)
					require.Equal(t, "A tiny PNG.", t1.text)
					require.Equal(t, "the user wants weather", t1.thinking)
					require.Len(t, t1.calls, 1)
					require.Equal(t, "get_weather", t1.calls[0].name)
					require.JSONEq(t, `{"city":"Paris"}`, t1.calls[0].args)
					require.Equal(t, int64(11), t1.in, "input tokens, cache included")
					require.Equal(t, int64(4), t1.cached)
					require.Equal(t, int64(5), t1.out)
					first := env.Upstream.Requests()[0]
					checkFirstRequest(t, up, first)

					// Turn 2: the tool's result goes back; the upstream sees it in its own format.
					env.Upstream.Enqueue(fakeupstream.Reply{Text: "It is sunny.",
						Usage: &fakeupstream.Usage{PromptTokens: 20, CompletionTokens: 3}})
					t2 := c.answer(t, model, stream, t1.calls[0])
					require.Equal(t, "It is sunny.", t2.text)
					reqs := env.Upstream.Requests()
					require.Len(t, reqs, 2)
					checkToolResult(t, up, reqs[1])

					ls := logs(t, env, user.ID)
					require.Len(t, ls, 2)
					byQuota := map[int64]bool{ls[0].Quota: true, ls[1].Quota: true}
					require.True(t, byQuota[wantQuota], "turn 1 charged exactly: %+v", ls)
					require.True(t, byQuota[20*3+3*7], "turn 2 charged exactly: %+v", ls)
					for _, l := range ls {
						require.Equal(t, http.StatusOK, l.StatusCode)
						require.Equal(t, stream, l.Stream)
					}
					require.Equal(t, int64(1_000_000-wantQuota-(20*3+3*7)), env.Balance(user.ID))
				})
			}
		}
	}
}

// checkFirstRequest checks the upstream's view of turn 1: its own wire format, the image, the
// tool, the system prompt and the account's credential.
func checkFirstRequest(t *testing.T, up string, r fakeupstream.Request) {
	t.Helper()
	b := gjson.ParseBytes(r.Body)
	require.Equal(t, "sk-upstream-"+up+"-0001", r.Credential)
	switch up {
	case "openai":
		require.True(t, strings.HasSuffix(r.Path, "/chat/completions"), r.Path)
		require.Equal(t, "be terse", b.Get("messages.0.content").String())
		require.Contains(t, b.Get(`messages.1.content.#(type=="image_url").image_url.url`).String(), pngB64)
		require.Equal(t, "get_weather", b.Get("tools.0.function.name").String())
	case "anthropic":
		require.True(t, strings.HasSuffix(r.Path, "/v1/messages"), r.Path)
		require.Equal(t, "2023-06-01", r.Header.Get("Anthropic-Version"))
		require.Contains(t, b.Get("system").Raw, "be terse")
		require.Equal(t, pngB64, b.Get(`messages.0.content.#(type=="image").source.data`).String())
		require.Equal(t, "get_weather", b.Get("tools.0.name").String())
		require.Positive(t, b.Get("max_tokens").Int())
	case "gemini":
		require.Contains(t, r.Path, "/v1beta/models/m-gemini:")
		require.Equal(t, "be terse", b.Get("systemInstruction.parts.0.text").String())
		require.Equal(t, pngB64, b.Get(`contents.0.parts.#(inlineData).inlineData.data`).String())
		require.Equal(t, "get_weather", b.Get("tools.0.functionDeclarations.0.name").String())
	}
}

// checkToolResult checks the upstream's view of turn 2: the call and its result, paired.
func checkToolResult(t *testing.T, up string, r fakeupstream.Request) {
	t.Helper()
	b := gjson.ParseBytes(r.Body)
	switch up {
	case "openai":
		id := b.Get(`messages.#(role=="assistant").tool_calls.0.id`).String()
		require.NotEmpty(t, id)
		tool := b.Get(`messages.#(role=="tool")`)
		require.Equal(t, id, tool.Get("tool_call_id").String())
		require.Contains(t, tool.Get("content").Raw, "sunny")
	case "anthropic":
		id := b.Get(`messages.#(role=="assistant").content.#(type=="tool_use").id`).String()
		require.NotEmpty(t, id)
		res := b.Get(`messages.2.content.#(type=="tool_result")`)
		require.Equal(t, id, res.Get("tool_use_id").String())
		require.Contains(t, res.Get("content").Raw, "sunny")
	case "gemini":
		require.Equal(t, "get_weather", b.Get(`contents.#(role=="model").parts.#(functionCall).functionCall.name`).String())
		fr := b.Get(`contents.2.parts.#(functionResponse).functionResponse`)
		require.Equal(t, "get_weather", fr.Get("name").String())
		require.Contains(t, fr.Get("response").Raw, "sunny")
	}
}

// TestProtocolErrors checks that each inbound protocol gets its native error shape and status,
// from the gateway itself and from an upstream of another protocol, and that a stream cut
// mid-way ends with the caller's protocol's error event.
func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	env, user := matrixEnv(t)
	ctx := context.Background()

	// Claude SDK: unknown model (gateway), upstream 400 from an OpenAI channel, bad key.
	cl := anthropic.NewClient(aoption.WithBaseURL(env.URL), aoption.WithAPIKey(user.Key),
		aoption.WithHTTPClient(env.HTTP), aoption.WithMaxRetries(0))
	msg := anthropic.MessageNewParams{Model: "nope", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	_, err := cl.Messages.New(ctx, msg)
	var ae *anthropic.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusNotFound, ae.StatusCode)
	require.Equal(t, "not_found_error", gjson.Get(ae.RawJSON(), "error.type").String())

	env.Upstream.Enqueue(fakeupstream.Reply{Status: 400})
	msg.Model = "m-openai"
	_, err = cl.Messages.New(ctx, msg)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusBadRequest, ae.StatusCode)
	require.Equal(t, "invalid_request_error", gjson.Get(ae.RawJSON(), "error.type").String())
	require.Contains(t, gjson.Get(ae.RawJSON(), "error.message").String(), "maximum context length")

	bad := anthropic.NewClient(aoption.WithBaseURL(env.URL), aoption.WithAPIKey("sk-wrong"),
		aoption.WithHTTPClient(env.RawHTTP), aoption.WithMaxRetries(0))
	_, err = bad.Messages.New(ctx, msg)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusUnauthorized, ae.StatusCode)
	require.Equal(t, "authentication_error", gjson.Get(ae.RawJSON(), "error.type").String())

	// A translated stream cut mid-way: Claude's error event, never message_stop.
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four", CutAfter: 2})
	s := cl.Messages.NewStreaming(ctx, msg)
	var text string
	for s.Next() {
		if ev := s.Current(); ev.Type == "content_block_delta" {
			text += ev.Delta.Text
		}
		require.NotEqual(t, "message_stop", s.Current().Type)
	}
	require.Error(t, s.Err(), "a cut stream is never a silent success")
	require.Equal(t, "one two", text)

	// Gemini SDK: unknown model; an upstream 429 from a Claude channel comes last (it cools the account).
	gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: user.Key, Backend: genai.BackendGeminiAPI,
		HTTPClient: env.HTTP, HTTPOptions: genai.HTTPOptions{BaseURL: env.URL + "/"}})
	require.NoError(t, err)
	_, err = gc.Models.GenerateContent(ctx, "nope", genai.Text("hi"), nil)
	var ge genai.APIError
	require.ErrorAs(t, err, &ge)
	require.Equal(t, http.StatusNotFound, ge.Code)
	require.Equal(t, "NOT_FOUND", ge.Status)

	// Gemini's JSON-array stream (no alt=sse), translated from an OpenAI channel.
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1beta/models/m-openai:streamGenerateContent?key="+user.Key,
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"a b c"}]}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := env.RawHTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var chunks []map[string]any
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &chunks), "%s", raw)
	require.GreaterOrEqual(t, len(chunks), 2)
	require.Contains(t, chunks[len(chunks)-1], "usageMetadata")

	// Token counts: relayed to Claude, counted offline for models on other channels; never charged.
	n, err := cl.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "m-gemini",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there world"))}})
	require.NoError(t, err)
	require.Positive(t, n.InputTokens)
	ct, err := gc.Models.CountTokens(ctx, "m-claude", genai.Text("hello there world"), nil)
	require.NoError(t, err)
	require.Positive(t, ct.TotalTokens)

	// Endpoints only an OpenAI channel offers answer a clear 400 on other channels.
	oa := client(env, user.Key)
	_, err = oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "m-claude",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
	var oe *openai.Error
	require.ErrorAs(t, err, &oe)
	require.Equal(t, http.StatusBadRequest, oe.StatusCode)
	require.Equal(t, "unsupported_endpoint", oe.Code)
	// The only account serving m-claude is rate-limited: Gemini's 429 RESOURCE_EXHAUSTED.
	env.Upstream.Enqueue(fakeupstream.Reply{Status: 429})
	_, err = gc.Models.GenerateContent(ctx, "m-claude", genai.Text("hi"), nil)
	require.ErrorAs(t, err, &ge)
	require.Equal(t, http.StatusTooManyRequests, ge.Code)
	require.Equal(t, "RESOURCE_EXHAUSTED", ge.Status)
}

// TestOwnRefusalsLeaveAccountsHealthy: a call Poolgate refuses itself before any upstream call
// (an endpoint the account's protocol does not offer, a request it cannot express) says nothing
// about the account, so however many there are, they never count as upstream failures towards
// POOL_FAILURE_THRESHOLD and the account keeps serving.
func TestOwnRefusalsLeaveAccountsHealthy(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis(), apptest.WithConfig(func(c *config.Config) {
		c.PoolFailureThreshold = 2
	}))
	ctx := context.Background()
	res, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "claude", Type: "anthropic",
		BaseUrl: strings.TrimSuffix(env.UpstreamURL, "/v1"), Models: []string{"m-claude"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	a, err := env.Admin().AccountCreateWithResponse(ctx, res.JSON201.Id, adminclient.AccountCreate{Credential: "sk-upstream-claude-0001"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.StatusCode(), string(a.Body))
	env.Price("m-claude", 1, 1)
	oa := client(env, env.NewUser("refused", 1_000_000).Key)
	for range 4 {
		_, err = oa.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "m-claude",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
		var oe *openai.Error
		require.ErrorAs(t, err, &oe)
		require.Equal(t, "unsupported_endpoint", oe.Code)
		_, err = oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m-claude", N: openai.Int(2),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("two answers")}})
		require.ErrorAs(t, err, &oe)
		require.Equal(t, "unsupported_request", oe.Code)
	}
	ok, err := oa.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "m-claude",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("still there?")}})
	require.NoError(t, err)
	require.NotEmpty(t, ok.Choices)
}
