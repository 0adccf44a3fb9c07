package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// fullPrice prices every dimension (quota units per million tokens): input 2, cached 0.5,
// 5-minute write 2.5, 1-hour write 4, output 8, reasoning 10 units a token, 7 units a call.
func fullPrice(name string) adminclient.ModelCreate {
	p := func(v int64) *int64 { return &v }
	return adminclient.ModelCreate{Name: name, InputPrice: 2_000_000, OutputPrice: 8_000_000,
		CachedInputPrice: wire.Opt(p(500_000)), CacheWrite5mPrice: wire.Opt(p(2_500_000)), CacheWrite1hPrice: wire.Opt(p(4_000_000)),
		ReasoningPrice: wire.Opt(p(10_000_000)), PerCallPrice: p(7)}
}

// TestPriceEveryDimension charges the usage each protocol's upstream reports (OpenAI cached and
// reasoning tokens; Claude cache reads and 5-minute/1-hour cache writes; Gemini cached content and
// thoughts), normal and streamed, and checks each charge against a hand-computed figure, then
// the balance against the exact total.
func TestPriceEveryDimension(t *testing.T) {
	t.Parallel()
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
		pr, err := env.Admin().ModelCreateWithResponse(context.Background(), fullPrice(m))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, pr.StatusCode(), string(pr.Body))
		require.Equal(t, int64(7), pr.JSON201.PerCallPrice)
	}
	user := env.NewUser("prices", 1_000_000)
	// 1000 input tokens: 400 cached, 200 written for 5 minutes, 100 for an hour (Claude only);
	// 300 output tokens of which 120 reasoning.
	usage := fakeupstream.Usage{PromptTokens: 1000, CachedTokens: 400, CacheWrite5mTokens: 200, CacheWrite1hTokens: 100,
		CompletionTokens: 300, ReasoningTokens: 120}
	// OpenAI and Gemini report no cache writes: 600×2 + 400×0.5 + 180×8 + 120×10 = 4040, + 7.
	// Claude reports no reasoning count (thinking is output): 300×2 + 400×0.5 + 200×2.5 + 100×4 +
	// 300×8 = 4100, + 7.
	want := map[string]int64{"openai": 4047, "claude": 4107, "gemini": 4047}
	model := map[string]string{"openai": "m-openai", "claude": "m-claude", "gemini": "m-gemini"}
	var total int64
	for _, proto := range []string{"openai", "claude", "gemini"} {
		for _, stream := range []bool{false, true} {
			before := len(logs(t, env, user.ID))
			env.Upstream.Enqueue(fakeupstream.Reply{Thinking: "hmm", Text: "ok", Usage: &usage})
			newCaller(t, env, user.Key, proto).ask(t, model[proto], stream)
			ls := logs(t, env, user.ID)
			require.Len(t, ls, before+1)
			require.Equal(t, want[proto], ls[0].Quota, "%s stream=%v: %+v", proto, stream, ls[0])
			total += want[proto]
		}
	}
	require.Equal(t, int64(2*(4047+4107+4047)), total)
	require.Equal(t, 1_000_000-total, env.Balance(user.ID))
}

// TestPriceTierAndImages: a prompt above the tier's threshold is priced at the tier for all its
// tokens, one at the threshold is not; images are charged per image.
func TestPriceTierAndImages(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	env.Channel("c", []string{"long", "dall-e-3"}, "sk-upstream-0001")
	m := fullPrice("long")
	tier := &adminclient.PromptTier{AboveTokens: 1000, InputPrice: 4_000_000, OutputPrice: 12_000_000}
	m.PromptTier = &tier
	pr, err := env.Admin().ModelCreateWithResponse(context.Background(), m)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, pr.StatusCode(), string(pr.Body))
	require.NotNil(t, pr.JSON201.PromptTier)
	img := int64(40_000)
	zero := int64(0)
	pi, err := env.Admin().ModelCreateWithResponse(context.Background(), adminclient.ModelCreate{Name: "dall-e-3",
		InputPrice: 0, OutputPrice: 0, ImagePrice: &img, PerCallPrice: &zero})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, pi.StatusCode(), string(pi.Body))
	user := env.NewUser("tier", 1_000_000)
	sdk := client(env, user.Key)

	// At the threshold: 1000×2 + 100×8 + 7 = 2807.
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok", Usage: &fakeupstream.Usage{PromptTokens: 1000, CompletionTokens: 100}})
	_, err = sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "long",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	require.NoError(t, err)
	require.Equal(t, int64(2807), logs(t, env, user.ID)[0].Quota)
	// Above: the tier's input 4 and output 12 for every token; its unset cached price follows its
	// input price (400×4), its reasoning price its output price: 1001×4 + 100×12 + 7 = 5211.
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok", Usage: &fakeupstream.Usage{PromptTokens: 1001, CachedTokens: 400,
		CompletionTokens: 100, ReasoningTokens: 50}})
	_, err = sdk.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "long",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	require.NoError(t, err)
	require.Equal(t, int64(5211), logs(t, env, user.ID)[0].Quota)

	// Three images at 40000 each.
	res, err := sdk.Images.Generate(context.Background(), openai.ImageGenerateParams{Model: "dall-e-3", Prompt: "a cat",
		N: openai.Int(3)})
	require.NoError(t, err)
	require.Len(t, res.Data, 3)
	require.Equal(t, int64(120_000), logs(t, env, user.ID)[0].Quota)
	require.Equal(t, int64(1_000_000-2807-5211-120_000), env.Balance(user.ID))

	// Removing the tier (null) prices long prompts at the base prices again.
	up, err := env.Admin().ModelUpdateWithResponse(context.Background(), pr.JSON201.Id,
		adminclient.ModelUpdate{PromptTier: nullable.NewNullNullable[adminclient.PromptTier]()})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Nil(t, up.JSON200.PromptTier)
	require.Equal(t, int64(7), up.JSON200.PerCallPrice)
}
