package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// mapModel maps a channel's model to another upstream name through the channel-model API.
func mapModel(t *testing.T, b *bundle, channel int64, name, upstream string) {
	t.Helper()
	ctx := context.Background()
	list, err := b.env.Admin().ChannelModelListWithResponse(ctx, channel)
	require.NoError(t, err)
	for _, m := range list.JSON200.Items {
		if m.Name == name {
			res, err := b.env.Admin().ChannelModelUpdateWithResponse(ctx, m.Id, adminclient.ChannelModelUpdate{UpstreamName: &upstream})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
			return
		}
	}
	t.Fatalf("channel %d does not serve %s", channel, name)
}

func TestModelMapping(t *testing.T) {
	t.Parallel()
	b := setup(t)
	channels, err := b.env.Admin().ChannelListWithResponse(context.Background())
	require.NoError(t, err)
	mapModel(t, b, channels.JSON200.Items[0].Id, model, "gpt-4o-mini-2024-07-18")

	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "mapped", Usage: &fakeupstream.Usage{PromptTokens: 3, CompletionTokens: 2}})
	res, err := b.sdk.Chat.Completions.New(context.Background(), params())
	require.NoError(t, err)
	require.Equal(t, "mapped", res.Choices[0].Message.Content)

	reqs := b.env.Upstream.Requests()
	last := reqs[len(reqs)-1]
	require.Equal(t, "gpt-4o-mini-2024-07-18", gjson.GetBytes(last.Body, "model").String(), "the upstream gets the mapped name")
	require.Equal(t, "be terse", gjson.GetBytes(last.Body, "messages.0.content").String(), "the rest of the body is unchanged")

	l := logs(t, b.env, b.user.ID)
	require.Len(t, l, 1)
	require.Equal(t, model, l[0].Model, "the log keeps the caller's name")
	require.Equal(t, "gpt-4o-mini-2024-07-18", l[0].UpstreamModel, "and the upstream's")
	require.Nil(t, wire.Ptr(l[0].FirstTokenMs), "not streamed")
	require.EqualValues(t, 3*3+2*7, l[0].Quota, "priced by the caller's model")

	// Streamed: the log has the time to the first byte.
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "streamed answer", Usage: &fakeupstream.Usage{PromptTokens: 3, CompletionTokens: 2}})
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	for stream.Next() {
	}
	require.NoError(t, stream.Err())
	l = logs(t, b.env, b.user.ID)
	require.Len(t, l, 2)
	require.NotNil(t, wire.Ptr(l[0].FirstTokenMs))
	require.GreaterOrEqual(t, l[0].FirstTokenMs.MustGet(), 1)
	require.LessOrEqual(t, l[0].FirstTokenMs.MustGet(), l[0].DurationMs+1)
}

func TestModelMappingGemini(t *testing.T) {
	t.Parallel()
	env, u := matrixEnv(t)
	b := &bundle{env: env, user: u, sdk: client(env, u.Key)}
	channels, err := env.Admin().ChannelListWithResponse(context.Background())
	require.NoError(t, err)
	for _, c := range channels.JSON200.Items {
		if c.Type == adminclient.Gemini {
			mapModel(t, b, c.Id, "m-gemini", "gemini-2.5-flash-001")
		}
	}
	env.Upstream.Enqueue(fakeupstream.Reply{Text: "from gemini", Usage: &fakeupstream.Usage{PromptTokens: 2, CompletionTokens: 1}})
	p := params()
	p.Model = "m-gemini"
	res, err := b.sdk.Chat.Completions.New(context.Background(), p) // OpenAI caller, translated to Gemini
	require.NoError(t, err)
	require.Equal(t, "from gemini", res.Choices[0].Message.Content)
	reqs := env.Upstream.Requests()
	require.Contains(t, reqs[len(reqs)-1].Path, "/models/gemini-2.5-flash-001:generateContent", "Gemini names the mapped model in the URL")
}

// keyWith creates an API key for the bundle's user with restrictions and returns its client.
func keyWith(t *testing.T, b *bundle, req userclient.ApiKeyCreateRequest) openai.Client {
	t.Helper()
	req.Name = "restricted"
	res, err := b.env.User(b.user.Token).ApiKeyCreateWithResponse(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return client(b.env, res.JSON201.Key)
}

// openaiError calls the chat completion endpoint and returns the OpenAI error it answered.
func openaiError(t *testing.T, c openai.Client, m string) *openai.Error {
	t.Helper()
	p := params()
	p.Model = m
	_, err := c.Chat.Completions.New(context.Background(), p)
	var oe *openai.Error
	require.True(t, errors.As(err, &oe), "an OpenAI error, got %v", err)
	return oe
}

func TestKeyRestrictions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Price("gpt-4o", inPrice, outPrice)

	t.Run("Models", func(t *testing.T) {
		c := keyWith(t, b, userclient.ApiKeyCreateRequest{AllowedModels: wire.Opt(&[]string{"gpt-4o"})})
		oe := openaiError(t, c, model)
		require.Equal(t, http.StatusForbidden, oe.StatusCode)
		require.Equal(t, "model_not_allowed", oe.Code)
		page, err := c.Models.List(context.Background())
		require.NoError(t, err)
		require.Len(t, page.Data, 1, "the models list shows only the allowed models")
		require.Equal(t, "gpt-4o", page.Data[0].ID)
		b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok"})
		p := params()
		p.Model = "gpt-4o"
		_, err = c.Chat.Completions.New(context.Background(), p)
		require.NoError(t, err)
	})
	t.Run("Expired", func(t *testing.T) {
		past := time.Now().Add(-time.Minute)
		c := keyWith(t, b, userclient.ApiKeyCreateRequest{ExpiresAt: wire.Opt(&past)})
		oe := openaiError(t, c, model)
		require.Equal(t, http.StatusUnauthorized, oe.StatusCode)
		require.Contains(t, oe.Message, "expired")
	})
	t.Run("Addresses", func(t *testing.T) {
		elsewhere := keyWith(t, b, userclient.ApiKeyCreateRequest{AllowedIps: wire.Opt(&[]string{"10.0.0.0/8", "2001:db8::/32"})})
		oe := openaiError(t, elsewhere, model)
		require.Equal(t, http.StatusForbidden, oe.StatusCode)
		require.Equal(t, "ip_not_allowed", oe.Code)
		local := keyWith(t, b, userclient.ApiKeyCreateRequest{AllowedIps: wire.Opt(&[]string{"127.0.0.1", "::1"})})
		b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok"})
		_, err := local.Chat.Completions.New(context.Background(), params())
		require.NoError(t, err)
	})
	t.Run("Quota", func(t *testing.T) {
		c := keyWith(t, b, userclient.ApiKeyCreateRequest{QuotaLimit: wire.Opt(ptr(int64(30)))})
		// 3 input × 3 + 3 output × 7 = 30 units: the first call spends the key's whole quota.
		b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok", Usage: &fakeupstream.Usage{PromptTokens: 3, CompletionTokens: 3}})
		_, err := c.Chat.Completions.New(context.Background(), params())
		require.NoError(t, err)
		oe := openaiError(t, c, model)
		require.Equal(t, http.StatusPaymentRequired, oe.StatusCode)
		require.True(t, strings.Contains(oe.Message, "quota"), oe.Message)
	})
	t.Run("Updated", func(t *testing.T) {
		// A restriction added later applies at once (the key cache drops the key on every instance).
		res, err := b.env.User(b.user.Token).ApiKeyUpdateWithResponse(context.Background(), b.user.KeyID,
			userclient.ApiKeyUpdateRequest{AllowedModels: wire.Opt(&[]string{"gpt-4o"})})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		oe := openaiError(t, b.sdk, model)
		require.Equal(t, "model_not_allowed", oe.Code)
	})
}

func ptr[T any](v T) *T { return &v }
