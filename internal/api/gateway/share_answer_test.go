package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/gen/api/hooks"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/settings"
)

// TestShareFinishAnswer: shareAuth/finish carries the answer the caller received, normal and
// streamed, whichever protocol the upstream account speaks; a long answer is cut at 64 KiB with
// the truncation mark. The reference hook server records each finish body, compared field by
// field.
func TestShareFinishAnswer(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookPolicy())
	env := apptest.New(t, apptest.WithoutRedis(), apptest.HookConfig(2*time.Second, false))
	ctx := context.Background()
	root := strings.TrimSuffix(env.UpstreamURL, "/v1")
	var models []string
	for typ, m := range upstreamModels {
		base := root
		if typ == "openai" {
			base = env.UpstreamURL
		}
		res, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{
			Name: typ, Type: adminclient.ChannelType(typ), BaseUrl: base, Models: []string{m}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		a, err := env.Admin().AccountCreateWithResponse(ctx, res.JSON201.Id, adminclient.AccountCreate{Credential: "sk-upstream-" + typ + "-0001"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, a.StatusCode(), string(a.Body))
		env.Price(m, inPrice, outPrice)
		models = append(models, m)
	}
	owner := env.NewUser("owner", 10_000_000)
	res, err := env.Admin().ShareLinkCreateWithResponse(ctx, adminclient.ShareLinkCreate{Name: "films", UserId: owner.ID,
		Models: &models, AuthHost: strp(recv.URL)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	sdk := shareSDK(env, res.JSON201.Id, "fastgpt")

	long := strings.Repeat("新海诚 ", 7000) // 70,000 bytes: more than the 64 KiB kept
	cases := []struct {
		model, text string
		stream      bool
		maxTokens   int64
	}{
		{model: "m-openai", text: "电影《铃芽之旅》的导演是新海诚。", maxTokens: 2050},
		{model: "m-openai", text: "电影《铃芽之旅》的导演是新海诚。", stream: true},
		{model: "m-claude", text: "The director is Makoto Shinkai.", maxTokens: 300},
		{model: "m-claude", text: "The director is Makoto Shinkai.", stream: true, maxTokens: 300},
		{model: "m-gemini", text: "The director is Makoto Shinkai.", stream: true},
		{model: "m-gemini", text: "The director is Makoto Shinkai."},
		{model: "m-openai", text: long, stream: true},
		{model: "m-claude", text: long},
	}
	for i, tc := range cases {
		env.Upstream.Enqueue(fakeupstream.Reply{Text: tc.text, Usage: &fakeupstream.Usage{PromptTokens: 10, CompletionTokens: 4}})
		p := ask("导演是谁")
		p.Model = tc.model
		var want *int64
		if tc.maxTokens > 0 {
			p.MaxCompletionTokens = openai.Int(tc.maxTokens)
			want = &tc.maxTokens
		}
		got := ""
		if tc.stream {
			s := sdk.Chat.Completions.NewStreaming(ctx, p)
			for s.Next() {
				if ch := s.Current(); len(ch.Choices) > 0 {
					got += ch.Choices[0].Delta.Content
				}
			}
			require.NoError(t, s.Err(), tc.model)
		} else {
			ans, err := sdk.Chat.Completions.New(ctx, p)
			require.NoError(t, err, tc.model)
			got = ans.Choices[0].Message.Content
		}
		require.Equal(t, tc.text, got, "%s stream=%v", tc.model, tc.stream)

		answer := tc.text
		if len(answer) > 64<<10 {
			answer = answer[:64<<10]
			for !utf8.RuneStart(tc.text[len(answer)]) {
				answer = answer[:len(answer)-1]
			}
			answer += "…[truncated]"
		}
		require.Eventually(t, func() bool { return len(recv.Ref.Received()) == i+1 }, 10*time.Second, 20*time.Millisecond)
		fin := recv.Ref.Received()[i]
		require.Equal(t, "share_finish", fin.Kind)
		require.Equal(t, "fastgpt", fin.ShareFinish.Token)
		model, price, tokens, question := tc.model, hook.SharePrice(10*3+4*7, settings.DefaultQuotaPerUnit), int64(14), "导演是谁"
		require.NotNil(t, fin.ShareFinish.ResponseData[0].Answer)
		require.Len(t, *fin.ShareFinish.ResponseData[0].Answer, len(answer), "%s stream=%v", tc.model, tc.stream)
		quotes := []map[string]any{}
		msgs := []hooksapi.ShareAuthMessage{{Obj: hooksapi.ShareAuthMessageObjSystem, Value: "answer about films"},
			{Obj: hooksapi.ShareAuthMessageObjHuman, Value: question},
			{Obj: hooksapi.ShareAuthMessageObjAI, Value: answer}}
		require.Equal(t, []hooksapi.ShareAuthModule{{ModuleName: "AI Chat", Model: &model, Price: &price, Tokens: &tokens,
			Question: &question, Answer: &answer, MaxToken: want, QuoteList: &quotes, CompleteMessages: &msgs}},
			fin.ShareFinish.ResponseData, "%s stream=%v", tc.model, tc.stream)
	}
}
