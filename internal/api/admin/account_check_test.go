package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestAccountTestCall: an account's test call sends one real minimal completion in its channel's
// protocol (OpenAI, Claude, Gemini; base URLs with and without the version) and answers the
// status, the latency and the answer; an upstream refusal is reported, credential scrubbed.
func TestAccountTestCall(t *testing.T) {
	t.Parallel()
	b := setup(t)
	root := strings.TrimSuffix(b.env.UpstreamURL, "/v1")
	for i, c := range []struct {
		typ, base, path string
	}{
		{"openai", b.env.UpstreamURL, "/v1/chat/completions"},
		{"anthropic", root, "/v1/messages"},
		{"anthropic", root + "/v1", "/v1/messages"},
		{"gemini", root, "/v1beta/models/test-model:generateContent"},
		{"gemini", root + "/v1", "/v1/models/test-model:generateContent"},
	} {
		ch, err := b.admin.ChannelCreateWithResponse(b.ctx, adminclient.ChannelCreate{Name: "ch-" + string(rune('a'+i)),
			Type: adminclient.ChannelType(c.typ), BaseUrl: c.base, Models: []string{"test-model"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
		cred := "sk-test-call-" + c.typ + "-0001"
		acc, err := b.admin.AccountCreateWithResponse(b.ctx, ch.JSON201.Id, adminclient.AccountCreate{Credential: cred})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, acc.StatusCode(), string(acc.Body))

		b.env.Upstream.Reset()
		b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "Hi there"})
		res, err := b.admin.AccountTestWithResponse(b.ctx, ch.JSON201.Id, acc.JSON201.Id, adminclient.AccountTestJSONRequestBody{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		r := res.JSON200
		require.True(t, r.Ok, "%s %s: %+v", c.typ, c.base, r)
		require.Equal(t, 200, r.Status)
		require.Equal(t, "test-model", r.Model)
		require.Equal(t, "Hi there", r.Answer, c.typ)
		require.Empty(t, r.Error)
		require.GreaterOrEqual(t, r.LatencyMs, int64(0))
		reqs := b.env.Upstream.Requests()
		require.Len(t, reqs, 1)
		require.Equal(t, c.path, reqs[0].Path, "%s %s", c.typ, c.base)
		require.Equal(t, cred, reqs[0].Credential)
		require.Contains(t, string(reqs[0].Body), "Say hi.")

		// A refusal: reported with the upstream's status and message, never the credential.
		b.env.Upstream.Enqueue(fakeupstream.Reply{Status: 401})
		model := "test-model"
		res, err = b.admin.AccountTestWithResponse(b.ctx, ch.JSON201.Id, acc.JSON201.Id, adminclient.AccountTestJSONRequestBody{Model: &model})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		require.False(t, res.JSON200.Ok)
		require.Equal(t, 401, res.JSON200.Status)
		require.NotEmpty(t, res.JSON200.Error)
		require.NotContains(t, string(res.Body), cred)
		require.Empty(t, res.JSON200.Answer)
	}

	// An account of another channel is not found.
	other := b.env.Channel("other", []string{"gpt-4o-mini"})
	res, err := b.admin.AccountTestWithResponse(b.ctx, other, 1, adminclient.AccountTestJSONRequestBody{})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode())
}
