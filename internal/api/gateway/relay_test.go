package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

const model = "gpt-4o-mini"

// Prices: 3 units per input token, 7 per output token, 1 per cached input token (per million: ×1e6).
const (
	inPrice  = 3_000_000
	outPrice = 7_000_000
)

type bundle struct {
	env  *apptest.Env
	user *apptest.TestUser
	sdk  openai.Client
}

func setup(t *testing.T, opts ...apptest.Option) *bundle {
	t.Helper()
	env := apptest.New(t, opts...)
	env.Channel("main", []string{model, "gpt-4o"}, "sk-upstream-aaaa1111", "sk-upstream-bbbb2222")
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	return &bundle{env: env, user: u, sdk: client(env, u.Key)}
}

func client(env *apptest.Env, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(env.URL+"/v1/"), option.WithAPIKey(key),
		option.WithHTTPClient(env.HTTP), option.WithMaxRetries(0))
}

func params() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be terse"), openai.UserMessage("say hello")},
	}
}

func logs(t *testing.T, env *apptest.Env, userID int64) []commonclient.UsageLog {
	t.Helper()
	env.FlushUsage()
	res, err := env.Admin().LogListWithResponse(context.Background(), &adminclient.LogListParams{UserId: &userID})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Items
}

func TestChatCompletion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "hello there", Usage: &fakeupstream.Usage{PromptTokens: 11, CompletionTokens: 5, CachedTokens: 4}})
	res, err := b.sdk.Chat.Completions.New(context.Background(), params())
	require.NoError(t, err)
	require.Equal(t, "hello there", res.Choices[0].Message.Content)
	require.EqualValues(t, 11, res.Usage.PromptTokens)

	// 7 uncached×3 + 4 cached×3 (no cached price: input price) + 5×7 = 68
	want := int64(11*3 + 5*7)
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	l := ls[0]
	require.Equal(t, model, l.Model)
	require.False(t, l.Stream)
	require.EqualValues(t, 11, l.PromptTokens)
	require.EqualValues(t, 5, l.CompletionTokens)
	require.EqualValues(t, 4, l.CachedTokens)
	require.Equal(t, want, l.Quota)
	require.Equal(t, 200, l.StatusCode)
	require.NotNil(t, wire.Ptr(l.ApiKeyId))
	require.Equal(t, b.user.KeyID, l.ApiKeyId.MustGet())
	require.Equal(t, int64(1_000_000)-want, b.env.Balance(b.user.ID))

	// The upstream got the caller's body unchanged, with the pool's credential.
	reqs := b.env.Upstream.Requests()
	require.Len(t, reqs, 1)
	require.True(t, strings.HasPrefix(reqs[0].Credential, "sk-upstream-"))
	require.NotContains(t, string(reqs[0].Body), "stream_options")
}

func TestChatCompletionStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four", Usage: &fakeupstream.Usage{PromptTokens: 9, CompletionTokens: 4}})
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	var text strings.Builder
	chunks := 0
	for stream.Next() {
		ch := stream.Current()
		chunks++
		require.NotEmpty(t, ch.Choices, "the usage chunk is withheld from a caller that did not ask for it")
		text.WriteString(ch.Choices[0].Delta.Content)
	}
	require.NoError(t, stream.Err())
	require.Equal(t, "one two three four", text.String())
	require.GreaterOrEqual(t, chunks, 5)

	// Poolgate asked the upstream for usage and charged it.
	reqs := b.env.Upstream.Requests()
	require.Equal(t, 1, len(reqs))
	require.Contains(t, string(reqs[0].Body), `"include_usage":true`)
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.True(t, ls[0].Stream)
	require.Equal(t, int64(9*3+4*7), ls[0].Quota)
	require.Equal(t, int64(1_000_000-(9*3+4*7)), b.env.Balance(b.user.ID))
}

func TestChatCompletionStreamWithUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "a b", Usage: &fakeupstream.Usage{PromptTokens: 2, CompletionTokens: 2}})
	p := params()
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), p)
	var usage int64
	for stream.Next() {
		if u := stream.Current().Usage; u.TotalTokens > 0 {
			usage = u.TotalTokens
		}
	}
	require.NoError(t, stream.Err())
	require.EqualValues(t, 4, usage, "the caller asked for the usage chunk and got it")
	require.Equal(t, int64(2*3+2*7), logs(t, b.env, b.user.ID)[0].Quota)
}

func TestFailoverBeforeFirstByte(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]fakeupstream.Reply{"500": {Status: 500}, "429": {Status: 429}, "529": {Status: 529},
		"503": {Status: 503}, "connection dropped": {Drop: true}, "401": {Status: 401}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.env.Upstream.Enqueue(fault, fakeupstream.Reply{Text: "ok", Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 1}})
			res, err := b.sdk.Chat.Completions.New(context.Background(), params())
			require.NoError(t, err)
			require.Equal(t, "ok", res.Choices[0].Message.Content)
			ls := logs(t, b.env, b.user.ID)
			require.Len(t, ls, 1, "one call, one log")
			require.Equal(t, int64(3+7), ls[0].Quota, "charged exactly once")
		})
	}
}

func TestFailoverToSecondAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The first account tried fails with 500, whichever it is; the second succeeds.
	b.env.Upstream.Enqueue(fakeupstream.Reply{Status: 500}, fakeupstream.Reply{Text: "recovered", Usage: &fakeupstream.Usage{PromptTokens: 2, CompletionTokens: 3}})
	res, err := b.sdk.Chat.Completions.New(context.Background(), params())
	require.NoError(t, err)
	require.Equal(t, "recovered", res.Choices[0].Message.Content)
	reqs := b.env.Upstream.Requests()
	require.Len(t, reqs, 2)
	require.NotEqual(t, reqs[0].Credential, reqs[1].Credential, "the retry went to another account")
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.Equal(t, int64(2*3+3*7), ls[0].Quota, "charged exactly once")
}

func TestAllAccountsRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "7"}},
		fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "7"}})
	_, err := b.sdk.Chat.Completions.New(context.Background(), params())
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	require.Equal(t, "rate_limit_exceeded", apiErr.Code)
	require.Equal(t, "7", apiErr.Response.Header.Get("Retry-After"))
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.Zero(t, ls[0].Quota)
	require.Equal(t, 429, ls[0].StatusCode)
	require.Equal(t, int64(1_000_000), b.env.Balance(b.user.ID))
}

func TestUpstreamCallerErrorIsNotRetriedAndHidesCredential(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Status: 400,
		Body: `{"error":{"message":"bad request for key sk-upstream-aaaa1111 and sk-up***1111","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}`})
	_, err := b.sdk.Chat.Completions.New(context.Background(), params())
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, "context_length_exceeded", apiErr.Code)
	require.NotContains(t, apiErr.RawJSON(), "aaaa1111")
	require.NotContains(t, apiErr.RawJSON(), "sk-up")
	require.Len(t, b.env.Upstream.Requests(), 1, "a caller error is not retried")
}

func TestUpstreamUnauthorizedNeverLeaks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Status: 401}, fakeupstream.Reply{Status: 401})
	_, err := b.sdk.Chat.Completions.New(context.Background(), params())
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	require.NotContains(t, apiErr.RawJSON(), "sk-up")
}

func TestStreamCutMidway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four five", CutAfter: 2})
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	n := 0
	for stream.Next() {
		n++
	}
	require.Error(t, stream.Err(), "a cut stream is never a silent success")
	require.Len(t, b.env.Upstream.Requests(), 1, "no retry after the first byte")
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.Equal(t, http.StatusBadGateway, ls[0].StatusCode)
	require.Positive(t, ls[0].Quota, "generated tokens are charged (estimated)")
}

func TestGatewayRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	status := func(err error) (int, string) {
		var apiErr *openai.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		return apiErr.StatusCode, apiErr.Code
	}

	bad := client(b.env, "sk-not-a-key")
	_, err := bad.Chat.Completions.New(ctx, params())
	code, c := status(err)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, "invalid_api_key", c)

	p := params()
	p.Model = "no-such-model"
	_, err = b.sdk.Chat.Completions.New(ctx, p)
	code, c = status(err)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "model_not_found", c)

	p.Model = "gpt-4o" // served but unpriced
	_, err = b.sdk.Chat.Completions.New(ctx, p)
	code, c = status(err)
	require.Equal(t, http.StatusForbidden, code)
	require.Equal(t, "model_not_priced", c)

	broke := b.env.NewUser("bob", 0)
	brokeClient := client(b.env, broke.Key)
	_, err = brokeClient.Chat.Completions.New(ctx, params())
	code, c = status(err)
	require.Equal(t, http.StatusPaymentRequired, code)
	require.Equal(t, "insufficient_quota", c)
	require.Empty(t, b.env.Upstream.Requests(), "refused calls never reach an upstream")
}

func TestGatewayBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	post := func(body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, b.env.URL+"/v1/chat/completions", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+b.user.Key)
		req.Header.Set("Content-Type", "application/json")
		res, err := b.env.RawHTTP.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var e struct {
			Error struct{ Code, Type, Message string } `json:"error"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
		require.NotEmpty(t, e.Error.Message)
		return res.StatusCode, e.Error.Code
	}
	for body, want := range map[string]struct {
		status int
		code   string
	}{
		`{"model": "gpt-4o-mini", "messages": [`: {400, "invalid_json"},
		`not json`:                               {400, "invalid_json"},
		`[1,2]`:                                  {400, "invalid_json"},
		`{"messages": []}`:                       {400, "missing_model"},
		`{"model": 42, "messages": []}`:          {400, "missing_model"},
		`{"model": "gpt-4o-mini", "messages": [], "x": "` + strings.Repeat("a", 2<<20) + `"}`: {413, "body_too_large"},
	} {
		status, code := post(body)
		require.Equal(t, want.status, status, body[:min(len(body), 40)])
		require.Equal(t, want.code, code)
	}
	require.Empty(t, b.env.Upstream.Requests())
}

func adminUserBalance(v int64) adminclient.UserUpdate { return adminclient.UserUpdate{Balance: &v} }

func statusOf(err error) int {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// TestStreamBytesAsWithoutUsage: a caller that did not ask for usage gets chunks without the
// `"usage": null` field OpenAI adds when usage is requested.
func TestStreamBytesAsWithoutUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, err := http.NewRequest(http.MethodPost, b.env.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"a b c"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.user.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err := b.env.RawHTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Contains(t, string(raw), "data: [DONE]")
	require.NotContains(t, string(raw), `"usage"`)
	require.Positive(t, logs(t, b.env, b.user.ID)[0].Quota, "still charged from the usage Poolgate asked for")
}
