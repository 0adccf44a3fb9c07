package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

func TestModels(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res, err := b.admin.ModelCreateWithResponse(b.ctx, adminclient.ModelCreate{Name: "gpt-4o-mini", InputPrice: 75000, OutputPrice: 300000})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	mini := *res.JSON201
	require.Positive(t, mini.Id)
	require.Equal(t, "gpt-4o-mini", mini.Name)
	require.Equal(t, int64(75000), mini.InputPrice)
	require.Equal(t, int64(300000), mini.OutputPrice)
	require.Nil(t, wire.Ptr(mini.CachedInputPrice))
	require.Contains(t, string(res.Body), `"cached_input_price":null`)

	res, err = b.admin.ModelCreateWithResponse(b.ctx, adminclient.ModelCreate{Name: "claude-sonnet-4", InputPrice: 3_000_000,
		OutputPrice: 15_000_000, CachedInputPrice: wire.Opt(ptr(int64(300_000)))})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	sonnet := *res.JSON201
	require.Equal(t, ptr(int64(300_000)), wire.Ptr(sonnet.CachedInputPrice))

	list, err := b.admin.ModelListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Equal(t, []adminclient.Model{sonnet, mini}, list.JSON200.Items, "by name")

	dup, err := b.admin.ModelCreateWithResponse(b.ctx, adminclient.ModelCreate{Name: "gpt-4o-mini", InputPrice: 1, OutputPrice: 1})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "conflict", "a model with this name already exists", dup.StatusCode(), dup.Body)

	// Fields left out stay, cached_input_price included.
	up, err := b.admin.ModelUpdateWithResponse(b.ctx, sonnet.Id, adminclient.ModelUpdate{OutputPrice: ptr(int64(16_000_000))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, int64(16_000_000), up.JSON200.OutputPrice)
	require.Equal(t, int64(3_000_000), up.JSON200.InputPrice)
	require.Equal(t, ptr(int64(300_000)), wire.Ptr(up.JSON200.CachedInputPrice))

	up, err = b.admin.ModelUpdateWithResponse(b.ctx, sonnet.Id, adminclient.ModelUpdate{InputPrice: ptr(int64(2_000_000)), CachedInputPrice: wire.Opt(ptr(int64(0)))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, int64(2_000_000), up.JSON200.InputPrice)
	require.Equal(t, ptr(int64(0)), wire.Ptr(up.JSON200.CachedInputPrice))

	// An explicit null resets the cached price to "same as input".
	upb, err := b.admin.ModelUpdateWithBodyWithResponse(b.ctx, sonnet.Id, jsonType, body(`{"cached_input_price":null}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upb.StatusCode(), string(upb.Body))
	require.Nil(t, wire.Ptr(upb.JSON200.CachedInputPrice))
	require.Equal(t, int64(2_000_000), upb.JSON200.InputPrice)
	require.Equal(t, int64(16_000_000), upb.JSON200.OutputPrice)

	upb, err = b.admin.ModelUpdateWithBodyWithResponse(b.ctx, mini.Id, jsonType, body(`{"cached_input_price":37500}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upb.StatusCode(), string(upb.Body))
	require.Equal(t, ptr(int64(37500)), wire.Ptr(upb.JSON200.CachedInputPrice))

	t.Run("NotFound", func(t *testing.T) {
		up, err := b.admin.ModelUpdateWithResponse(b.ctx, 999999, adminclient.ModelUpdate{InputPrice: ptr(int64(1))})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "model not found", up.StatusCode(), up.Body)

		del, err := b.admin.ModelDeleteWithResponse(b.ctx, 999999)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "model not found", del.StatusCode(), del.Body)
	})

	t.Run("BadInput", func(t *testing.T) {
		for name, in := range map[string]string{
			"NegativeInput":  `{"name":"m","input_price":-1,"output_price":1}`,
			"NegativeOutput": `{"name":"m","input_price":1,"output_price":-1}`,
			"NegativeCached": `{"name":"m","input_price":1,"output_price":1,"cached_input_price":-1}`,
			"Fractional":     `{"name":"m","input_price":1.5,"output_price":1}`,
			"SpaceInName":    `{"name":"gpt 4","input_price":1,"output_price":1}`,
			"MissingPrice":   `{"name":"m","input_price":1}`,
			"UnknownField":   `{"name":"m","input_price":1,"output_price":1,"currency":"usd"}`,
		} {
			t.Run(name, func(t *testing.T) {
				res, err := b.raw.ModelCreateWithBodyWithResponse(b.ctx, jsonType, body(in))
				require.NoError(t, err)
				apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
			})
		}
		for name, in := range map[string]string{
			"Empty":         `{}`,
			"NegativePrice": `{"output_price":-5}`,
			"Rename":        `{"name":"other"}`,
		} {
			t.Run("Update"+name, func(t *testing.T) {
				res, err := b.raw.ModelUpdateWithBodyWithResponse(b.ctx, mini.Id, jsonType, body(in))
				require.NoError(t, err)
				apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
			})
		}
	})

	del, err := b.admin.ModelDeleteWithResponse(b.ctx, mini.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))

	list, err = b.admin.ModelListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	require.Equal(t, sonnet.Id, list.JSON200.Items[0].Id)
}
