package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/gateway"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/settings"
)

func shareSDK(env *apptest.Env, id, token string) openai.Client {
	return openai.NewClient(option.WithBaseURL(env.URL+"/share/"+id+"/v1/"), option.WithAPIKey(token),
		option.WithHTTPClient(env.HTTP), option.WithMaxRetries(0))
}

func ask(q string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("answer about films"), openai.UserMessage(q)}}
}

// TestShareLink walks seed 004: init, start before each question, finish after each answer, with
// the credential host's refusals shown to the caller; the link's models and limits apply and its
// owner pays.
func TestShareLink(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookPolicy())
	b := setup(t, apptest.HookConfig(2*time.Second, false))
	ctx := context.Background()
	limit := int64(2)
	res, err := b.env.Admin().ShareLinkCreateWithResponse(ctx, adminclient.ShareLinkCreate{Name: "films", UserId: b.user.ID,
		Models: &[]string{model}, AuthHost: strp(recv.URL), RequestLimit: wire.Opt(&limit)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	link := res.JSON201
	require.Equal(t, "/share/"+link.Id+"/v1", link.BaseUrl)

	gw, err := gatewayclient.NewClientWithResponses(b.env.URL, gatewayclient.WithHTTPClient(b.env.HTTP))
	require.NoError(t, err)
	init, err := gw.ShareInitWithResponse(ctx, link.Id, &gatewayclient.ShareInitParams{AuthToken: strp("fastgpt")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, init.StatusCode(), string(init.Body))
	require.True(t, init.JSON200.Success)
	require.Equal(t, []string{model}, init.JSON200.Models)
	init, err = gw.ShareInitWithResponse(ctx, link.Id, &gatewayclient.ShareInitParams{AuthToken: strp("intruder")})
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, init.StatusCode(), string(init.Body))
	require.Contains(t, string(init.Body), "身份错误")
	init, err = gw.ShareInitWithResponse(ctx, "sl_missing", &gatewayclient.ShareInitParams{AuthToken: strp("fastgpt")})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, init.StatusCode(), string(init.Body))

	sdk := shareSDK(b.env, link.Id, "fastgpt")
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "新海诚。", Usage: &fakeupstream.Usage{PromptTokens: 10, CompletionTokens: 4}})
	ans, err := sdk.Chat.Completions.New(ctx, ask("导演是谁"))
	require.NoError(t, err)
	require.Equal(t, "新海诚。", ans.Choices[0].Message.Content)

	// Refusals: a blocked word, a wrong token, no token, a model the link does not allow.
	_, err = sdk.Chat.Completions.New(ctx, ask("你是谁"))
	e := apiError(t, err)
	require.Equal(t, http.StatusForbidden, e.StatusCode)
	require.Equal(t, "内容不合规", e.Message)
	intruder := shareSDK(b.env, link.Id, "intruder")
	_, err = intruder.Chat.Completions.New(ctx, ask("导演是谁"))
	e = apiError(t, err)
	require.Equal(t, http.StatusForbidden, e.StatusCode)
	require.Equal(t, "身份错误", e.Message)
	p := ask("导演是谁")
	p.Model = "gpt-4o"
	b.env.Price("gpt-4o", inPrice, outPrice)
	_, err = sdk.Chat.Completions.New(ctx, p)
	e = apiError(t, err)
	require.Equal(t, http.StatusForbidden, e.StatusCode)
	require.Equal(t, "model_not_allowed", e.Code)
	before := b.env.Upstream.Count()

	// finish reports the answered question only.
	require.Eventually(t, func() bool { return len(recv.Ref.Received()) == 1 }, 10*time.Second, 20*time.Millisecond)
	fin := recv.Ref.Received()[0]
	require.Equal(t, "share_finish", fin.Kind)
	require.Equal(t, "fastgpt", fin.ShareFinish.Token)
	m := fin.ShareFinish.ResponseData[0]
	require.Equal(t, "AI Chat", m.ModuleName)
	require.Equal(t, model, *m.Model)
	require.Equal(t, "导演是谁", *m.Question)
	require.EqualValues(t, 14, *m.Tokens)
	want := int64(10*3 + 4*7)
	require.Equal(t, hook.SharePrice(want, settings.DefaultQuotaPerUnit), *m.Price, "FastGPT's scale: currency × 100000")
	require.NotEmpty(t, fin.ShareFinish.Id, "an id to deduplicate on")
	b.env.FlushUsage()
	require.Equal(t, int64(1_000_000)-want, b.env.Balance(b.user.ID), "the link's owner pays")

	// The request limit (2) counts answered questions.
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "second", Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 1}})
	_, err = sdk.Chat.Completions.New(ctx, ask("主角是谁"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := sdk.Chat.Completions.New(ctx, ask("还有吗"))
		return err != nil && statusOf(err) == http.StatusTooManyRequests
	}, 5*time.Second, 20*time.Millisecond)
	require.Equal(t, before+1, b.env.Upstream.Count())
	got, err := b.env.Admin().ShareLinkGetWithResponse(ctx, link.Id)
	require.NoError(t, err)
	require.EqualValues(t, 2, got.JSON200.RequestCount)

	// Disabled and deleted links refuse.
	st := adminclient.ActiveStatusDisabled
	upd, err := b.env.Admin().ShareLinkUpdateWithResponse(ctx, link.Id, adminclient.ShareLinkUpdate{Status: &st, RequestLimit: ptrI(-1)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upd.StatusCode(), string(upd.Body))
	require.Nil(t, wire.Ptr(upd.JSON200.RequestLimit))
	_, err = sdk.Chat.Completions.New(ctx, ask("导演是谁"))
	require.Equal(t, "share_disabled", apiError(t, err).Code)
	del, err := b.env.Admin().ShareLinkDeleteWithResponse(ctx, link.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	_, err = sdk.Chat.Completions.New(ctx, ask("导演是谁"))
	require.Equal(t, http.StatusNotFound, apiError(t, err).StatusCode)
}

func ptrI(v int64) *int64 { return &v }
