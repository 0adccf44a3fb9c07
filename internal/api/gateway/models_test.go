package gateway_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/apptest"
)

// TestModelsListShapes checks GET /v1/models in both shapes: Anthropic's for the Claude SDK
// (anthropic-version, x-api-key), OpenAI's for the OpenAI SDK, the same models in each.
func TestModelsListShapes(t *testing.T) {
	t.Parallel()
	env, user := matrixEnv(t)
	want := []string{upstreamModels["openai"], upstreamModels["anthropic"], upstreamModels["gemini"]}
	slices.Sort(want)

	claude := anthropic.NewClient(aoption.WithBaseURL(env.URL), aoption.WithAPIKey(user.Key),
		aoption.WithHTTPClient(env.HTTP), aoption.WithMaxRetries(0))
	page, err := claude.Models.List(context.Background(), anthropic.ModelListParams{})
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		require.Equal(t, m.ID, m.DisplayName)
		require.False(t, m.CreatedAt.IsZero())
		require.Equal(t, "model", gjson.Get(m.RawJSON(), "type").String())
		ids = append(ids, m.ID)
	}
	require.Equal(t, want, ids)
	require.False(t, page.HasMore)
	require.Equal(t, want[0], page.FirstID)
	require.Equal(t, want[len(want)-1], page.LastID)
	// Auto-paging stops after the single page.
	var auto []string
	iter := claude.Models.ListAutoPaging(context.Background(), anthropic.ModelListParams{})
	for iter.Next() {
		auto = append(auto, iter.Current().ID)
	}
	require.NoError(t, iter.Err())
	require.Equal(t, want, auto)

	oa := client(env, user.Key)
	list, err := oa.Models.List(context.Background())
	require.NoError(t, err)
	ids = nil
	for _, m := range list.Data {
		require.Equal(t, "model", string(m.Object))
		ids = append(ids, m.ID)
	}
	require.Equal(t, want, ids)

	// A bearer token with anthropic-version is a Claude caller too; a bearer alone is not.
	for _, c := range []struct {
		version string
		claude  bool
	}{{"2023-06-01", true}, {"", false}} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, env.URL+"/v1/models", nil)
		require.NoError(t, err)
		require.NoError(t, apptest.Bearer(user.Key)(context.Background(), req))
		if c.version != "" {
			req.Header.Set("anthropic-version", c.version)
		}
		res, err := env.HTTP.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		body := string(raw)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.Equal(t, c.claude, gjson.Get(body, "has_more").Exists(), body)
		require.Equal(t, !c.claude, gjson.Get(body, "object").String() == "list", body)
	}
}
