package admin_test

import (
	"net/http"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
)

// TestModelSyncPreviewBrowser: model lists fetched by the browser (OpenAI/Claude and Gemini
// shapes) become the channels' synced lists, previewed like a server-side sync and applied by
// the same apply route; bad lists change nothing.
func TestModelSyncPreviewBrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	openaiCh := b.env.Channel("oa", []string{"gpt-4o-mini", "legacy-model"})
	geminiCh := b.env.Channel("gm", []string{"gemini-2.5-flash"})

	res, err := b.admin.ModelSyncPreviewBrowserWithResponse(b.ctx, adminclient.ModelSyncBrowser{Items: []adminclient.ModelSyncBrowserItem{
		{ChannelId: openaiCh, List: map[string]any{"object": "list", "data": []any{
			map[string]any{"id": "gpt-4o-mini", "object": "model"}, map[string]any{"id": "gpt-4.1", "object": "model"}}}},
		{ChannelId: geminiCh, List: map[string]any{"models": []any{
			map[string]any{"name": "models/gemini-2.5-flash"}, map[string]any{"name": "models/gemini-2.5-pro"}}}},
	}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Len(t, res.JSON200.Items, 2)
	byID := map[int64]adminclient.ModelSyncPreviewItem{}
	for _, it := range res.JSON200.Items {
		byID[it.ChannelId] = it
	}
	require.Equal(t, []string{"gpt-4.1"}, byID[openaiCh].Add)
	require.Equal(t, []string{"legacy-model"}, byID[openaiCh].Remove)
	require.Equal(t, []string{"gemini-2.5-pro"}, byID[geminiCh].Add)
	require.Empty(t, byID[geminiCh].Remove)

	// The server-side preview now shows the same stored lists; apply takes them.
	pv, err := b.admin.ModelSyncPreviewWithResponse(b.ctx, adminclient.ChannelSelection{})
	require.NoError(t, err)
	require.Len(t, pv.JSON200.Items, 2)
	ap, err := b.admin.ModelSyncApplyWithResponse(b.ctx, adminclient.ModelSyncApply{ChannelIds: &[]int64{geminiCh}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ap.StatusCode(), string(ap.Body))
	require.Equal(t, []string{"gemini-2.5-flash", "gemini-2.5-pro"}, ap.JSON200.Items[0].Models)

	list := map[string]any{"data": []any{map[string]any{"id": "x"}}}
	for name, tc := range map[string]struct {
		items       []adminclient.ModelSyncBrowserItem
		status      int
		code, words string
	}{
		"UnknownChannel": {[]adminclient.ModelSyncBrowserItem{{ChannelId: 999_999, List: list}}, 404, "not_found", "channel 999999"},
		"NoModels":       {[]adminclient.ModelSyncBrowserItem{{ChannelId: openaiCh, List: map[string]any{"data": []any{}}}}, 422, "unprocessable", "no model"},
		"Twice":          {[]adminclient.ModelSyncBrowserItem{{ChannelId: openaiCh, List: list}, {ChannelId: openaiCh, List: list}}, 400, "invalid_request", "posted twice"},
		"Empty":          {[]adminclient.ModelSyncBrowserItem{}, 400, "", ""},
		// All or none: a valid first list is not stored when the second is refused.
		"AllOrNone": {[]adminclient.ModelSyncBrowserItem{{ChannelId: geminiCh, List: list}, {ChannelId: 999_999, List: list}}, 404, "not_found", "channel"},
	} {
		res, err := b.raw.ModelSyncPreviewBrowserWithResponse(b.ctx, adminclient.ModelSyncBrowser{Items: tc.items})
		require.NoError(t, err, name)
		require.Equal(t, tc.status, res.StatusCode(), "%s: %s", name, res.Body)
		if tc.code != "" {
			apptest.RequireError(t, tc.status, tc.code, tc.words, res.StatusCode(), res.Body)
		}
	}
	pv, err = b.admin.ModelSyncPreviewWithResponse(b.ctx, adminclient.ChannelSelection{ChannelIds: &[]int64{geminiCh}})
	require.NoError(t, err)
	require.Empty(t, pv.JSON200.Items[0].Add, "the refused request stored nothing")
}

// TestPriceSyncBrowser: a price list the browser fetched is previewed without any fetch and
// applied with the same document; exactly one of url and list.
func TestPriceSyncBrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Price("gpt-4o", 2_500_000, 10_000_000)
	b.env.Channel("main", []string{"gpt-4o", "o3"})
	router := adminclient.PriceListDocument{"data": []any{
		map[string]any{"id": "openai/gpt-4o", "pricing": map[string]any{"prompt": "0.000002", "completion": "0.00001"}},
		map[string]any{"id": "openai/o3", "pricing": map[string]any{"prompt": "0.000002", "completion": "0.000008", "input_cache_read": "0.0000005"}},
	}}

	pv, err := b.admin.ModelPriceSyncPreviewBrowserWithResponse(b.ctx, adminclient.PriceSyncBrowserRequest{List: router, QuotaPerUsd: ptr(int64(500_000))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pv.StatusCode(), string(pv.Body))
	require.Len(t, pv.JSON200.Items, 2)
	require.Equal(t, "gpt-4o", pv.JSON200.Items[0].Name)
	require.Equal(t, adminclient.Update, pv.JSON200.Items[0].Action)
	require.Equal(t, adminclient.PriceSet{InputPrice: 1_000_000, OutputPrice: 5_000_000,
		CachedInputPrice: nullable.NewNullNullable[int64]()}, pv.JSON200.Items[0].Proposed)
	require.Equal(t, adminclient.PriceSet{InputPrice: 1_000_000, OutputPrice: 4_000_000, CachedInputPrice: nullable.NewNullableWithValue[int64](250_000)},
		pv.JSON200.Items[1].Proposed)

	ap, err := b.admin.ModelPriceSyncApplyWithResponse(b.ctx, adminclient.PriceSyncRequest{List: &router, QuotaPerUsd: ptr(int64(500_000)), Names: &[]string{"o3"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ap.StatusCode(), string(ap.Body))
	require.Len(t, ap.JSON200.Items, 1)
	require.Equal(t, "o3", ap.JSON200.Items[0].Name)
	require.EqualValues(t, 4_000_000, ap.JSON200.Items[0].OutputPrice)

	for name, req := range map[string]adminclient.PriceSyncRequest{
		"Neither": {QuotaPerUsd: ptr(int64(1))},
		"Both":    {Url: ptr("https://prices.example.com/p.json"), List: &router},
	} {
		res, err := b.admin.ModelPriceSyncPreviewWithResponse(b.ctx, req)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "exactly one of url and list", res.StatusCode(), res.Body)
	}
	res, err := b.admin.ModelPriceSyncPreviewBrowserWithResponse(b.ctx, adminclient.PriceSyncBrowserRequest{List: router})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "quota_per_usd", res.StatusCode(), res.Body)
}
