package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
)

func (b *testBundle) channel(t *testing.T, name string) adminclient.Channel {
	t.Helper()
	res, err := b.admin.ChannelCreateWithResponse(b.ctx, adminclient.ChannelCreate{
		Name: name, Type: adminclient.Openai, BaseUrl: b.env.UpstreamURL, Models: []string{"gpt-4o-mini"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return *res.JSON201
}

func TestChannels(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res, err := b.admin.ChannelCreateWithResponse(b.ctx, adminclient.ChannelCreate{
		Name: "openai-main", Type: adminclient.Openai, BaseUrl: "https://api.openai.com/v1",
		Models: []string{"gpt-4o-mini", "gpt-4o"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	c := *res.JSON201
	require.Positive(t, c.Id)
	require.Equal(t, "openai-main", c.Name)
	require.Equal(t, adminclient.Openai, c.Type)
	require.Equal(t, "https://api.openai.com/v1", c.BaseUrl)
	require.Equal(t, []string{"gpt-4o-mini", "gpt-4o"}, c.Models)
	require.Equal(t, 0, c.Priority, "default priority")
	require.Equal(t, 1, c.Weight, "default weight")
	require.Equal(t, adminclient.ActiveStatusActive, c.Status, "default status")
	require.Equal(t, 0, c.AccountCount)

	res, err = b.admin.ChannelCreateWithResponse(b.ctx, adminclient.ChannelCreate{
		Name: "claude", Type: adminclient.Anthropic, BaseUrl: "http://127.0.0.1:9/v1", Models: []string{"claude-sonnet-4"},
		Priority: ptr(-5), Weight: ptr(0), Status: ptr(adminclient.ActiveStatusDisabled)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	c2 := *res.JSON201
	require.Equal(t, -5, c2.Priority)
	require.Equal(t, 0, c2.Weight)
	require.Equal(t, adminclient.ActiveStatusDisabled, c2.Status)

	list, err := b.admin.ChannelListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Equal(t, []adminclient.Channel{c, c2}, list.JSON200.Items)

	get, err := b.admin.ChannelGetWithResponse(b.ctx, c.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get.StatusCode(), string(get.Body))
	require.Equal(t, c, *get.JSON200)

	// A partial update changes only the fields present.
	up, err := b.admin.ChannelUpdateWithResponse(b.ctx, c.Id, adminclient.ChannelUpdate{Priority: ptr(10), Models: &[]string{"gpt-4.1"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	u := *up.JSON200
	require.Equal(t, 10, u.Priority)
	require.Equal(t, []string{"gpt-4.1"}, u.Models)
	require.Equal(t, c.Name, u.Name)
	require.Equal(t, c.BaseUrl, u.BaseUrl)
	require.Equal(t, c.Weight, u.Weight)
	require.Equal(t, c.Status, u.Status)
	require.Equal(t, c.CreatedAt, u.CreatedAt)
	require.False(t, u.UpdatedAt.Before(c.UpdatedAt))

	up, err = b.admin.ChannelUpdateWithResponse(b.ctx, c.Id, adminclient.ChannelUpdate{
		Name: ptr("openai-renamed"), BaseUrl: ptr("http://localhost:11434/v1"), Weight: ptr(3), Status: ptr(adminclient.ActiveStatusDisabled)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, "openai-renamed", up.JSON200.Name)
	require.Equal(t, "http://localhost:11434/v1", up.JSON200.BaseUrl)
	require.Equal(t, 3, up.JSON200.Weight)
	require.Equal(t, adminclient.ActiveStatusDisabled, up.JSON200.Status)
	require.Equal(t, 10, up.JSON200.Priority)

	t.Run("Conflict", func(t *testing.T) {
		dup, err := b.admin.ChannelCreateWithResponse(b.ctx, adminclient.ChannelCreate{
			Name: "claude", Type: adminclient.Openai, BaseUrl: "https://example.com/v1", Models: []string{"m"}})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusConflict, "conflict", "a channel with this name already exists", dup.StatusCode(), dup.Body)

		ren, err := b.admin.ChannelUpdateWithResponse(b.ctx, c.Id, adminclient.ChannelUpdate{Name: ptr("claude")})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusConflict, "conflict", "a channel with this name already exists", ren.StatusCode(), ren.Body)
	})

	t.Run("NotFound", func(t *testing.T) {
		const unknown = 999999
		get, err := b.admin.ChannelGetWithResponse(b.ctx, unknown)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", get.StatusCode(), get.Body)

		up, err := b.admin.ChannelUpdateWithResponse(b.ctx, unknown, adminclient.ChannelUpdate{Priority: ptr(1)})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", up.StatusCode(), up.Body)

		del, err := b.admin.ChannelDeleteWithResponse(b.ctx, unknown)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", del.StatusCode(), del.Body)
	})

	t.Run("BadInput", func(t *testing.T) {
		for name, in := range map[string]string{
			"BadBaseURL":        `{"name":"x","type":"openai","base_url":"ftp://example.com/v1","models":["m"]}`,
			"WrongType":         `{"name":"x","type":"cohere","base_url":"https://example.com","models":["m"]}`,
			"WrongPriorityType": `{"name":"x","type":"openai","base_url":"https://example.com","models":["m"],"priority":"high"}`,
			"MissingFields":     `{"name":"x"}`,
			"UnknownField":      `{"name":"x","type":"openai","base_url":"https://example.com","models":["m"],"colour":"red"}`,
			"EmptyModels":       `{"name":"x","type":"openai","base_url":"https://example.com","models":[]}`,
			"NegativeWeight":    `{"name":"x","type":"openai","base_url":"https://example.com","models":["m"],"weight":-1}`,
		} {
			t.Run(name, func(t *testing.T) {
				res, err := b.raw.ChannelCreateWithBodyWithResponse(b.ctx, jsonType, body(in))
				require.NoError(t, err)
				apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
			})
		}
		t.Run("MalformedJSON", func(t *testing.T) {
			res, err := b.raw.ChannelCreateWithBodyWithResponse(b.ctx, jsonType, body(`{"name":`))
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_json", "", res.StatusCode(), res.Body)
		})
		t.Run("EmptyUpdate", func(t *testing.T) {
			res, err := b.raw.ChannelUpdateWithBodyWithResponse(b.ctx, c.Id, jsonType, body(`{}`))
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
		})
		t.Run("UpdateBadBaseURL", func(t *testing.T) {
			res, err := b.raw.ChannelUpdateWithBodyWithResponse(b.ctx, c.Id, jsonType, body(`{"base_url":"example.com"}`))
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
		})
		t.Run("UpdateType", func(t *testing.T) {
			res, err := b.raw.ChannelUpdateWithBodyWithResponse(b.ctx, c.Id, jsonType, body(`{"type":"gemini"}`))
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
		})
		t.Run("BadID", func(t *testing.T) {
			res, err := b.raw.ChannelGetWithResponse(b.ctx, 0)
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
		})
	})

	del, err := b.admin.ChannelDeleteWithResponse(b.ctx, c.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))

	get, err = b.admin.ChannelGetWithResponse(b.ctx, c.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", get.StatusCode(), get.Body)

	list, err = b.admin.ChannelListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, c2.Id, list.JSON200.Items[0].Id)
}
