package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestMultipliersCompose: a charge is cost × group × channel×group × channel-model×group ×
// user×channel, taken exactly and rounded up once (docs/money.md § Multipliers), with
// hand-computed figures; the user catalog shows the same combined multiplier.
func TestMultipliersCompose(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice) // 3 000 000 in, 7 000 000 out per 1M tokens
	ch := env.Channel("main", []string{model}, "sk-mult-account-0001")
	vip := group(t, env, "vip", 1500)
	alice := env.NewUser("alice", 1_000_000) // vip
	bob := env.NewUser("bob", 1_000_000)     // no group
	setGroup(t, env, alice.ID, vip)

	cms, err := env.Admin().ChannelModelListWithResponse(ctx, ch)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cms.StatusCode(), string(cms.Body))
	require.Len(t, cms.JSON200.Items, 1)
	cm := cms.JSON200.Items[0].Id

	cg, err := env.Admin().ChannelGroupMultiplierSetWithResponse(ctx, ch, adminclient.GroupMultiplierSet{
		Items: []adminclient.GroupMultiplier{{GroupId: vip, MultiplierPermille: 800}}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cg.StatusCode(), string(cg.Body))
	cmg, err := env.Admin().ChannelModelGroupMultiplierSetWithResponse(ctx, cm, adminclient.GroupMultiplierSet{
		Items: []adminclient.GroupMultiplier{{GroupId: vip, MultiplierPermille: 1100}}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cmg.StatusCode(), string(cmg.Body))
	for _, u := range []int64{alice.ID, bob.ID} {
		uc, err := env.Admin().UserChannelMultiplierSetWithResponse(ctx, adminclient.UserId(u), adminclient.ChannelMultiplierSet{
			Items: []adminclient.ChannelMultiplier{{ChannelId: ch, MultiplierPermille: 901}}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, uc.StatusCode(), string(uc.Body))
	}
	got, err := env.Admin().UserChannelMultiplierListWithResponse(ctx, adminclient.UserId(alice.ID))
	require.NoError(t, err)
	require.Equal(t, []adminclient.ChannelMultiplier{{ChannelId: ch, MultiplierPermille: 901}}, got.JSON200.Items)

	reply := fakeupstream.Reply{Text: "hi", Usage: &fakeupstream.Usage{PromptTokens: 1000, CompletionTokens: 500}}
	env.Upstream.Enqueue(reply)
	require.NoError(t, chat(env, alice.Key))
	env.Upstream.Enqueue(reply)
	require.NoError(t, chat(env, bob.Key))
	// cost = ⌈(1000 × 3 000 000 + 500 × 7 000 000) / 1e6⌉ = 6500
	// alice: 6500 × 1.5 × 0.8 × 1.1 × 0.901 = 7730.58 → 7731; bob: 6500 × 0.901 = 5856.5 → 5857.
	require.Equal(t, int64(7731), logs(t, env, alice.ID)[0].Quota)
	require.Equal(t, int64(5857), logs(t, env, bob.ID)[0].Quota)
	require.Equal(t, int64(1_000_000-7731), env.Balance(alice.ID))

	// The catalog shows alice the same multiplier: ⌈1000 × 1.5 × 0.8 × 1.1 × 0.901⌉ = 1190 (1189.32).
	cat, err := env.User(alice.Token).CatalogUserGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cat.StatusCode(), string(cat.Body))
	require.Equal(t, 1500, cat.JSON200.GroupMultiplierPermille)
	require.Len(t, cat.JSON200.Items, 1)
	item := cat.JSON200.Items[0]
	require.Equal(t, int64(1190), item.MultiplierPermille)
	require.Equal(t, int64(inPrice), item.Price.InputPrice)
	require.Equal(t, int64(3_570_000), item.Effective.InputPrice) // 3 000 000 × 1.19
	require.Equal(t, int64(8_330_000), item.Effective.OutputPrice)

	// Clearing the sets reverts to the group multiplier alone, at once: 6500 × 1.5 = 9750.
	for _, set := range []func() (int, error){
		func() (int, error) {
			r, err := env.Admin().ChannelGroupMultiplierSetWithResponse(ctx, ch, adminclient.GroupMultiplierSet{Items: []adminclient.GroupMultiplier{}})
			return r.StatusCode(), err
		},
		func() (int, error) {
			r, err := env.Admin().ChannelModelGroupMultiplierSetWithResponse(ctx, cm, adminclient.GroupMultiplierSet{Items: []adminclient.GroupMultiplier{}})
			return r.StatusCode(), err
		},
		func() (int, error) {
			r, err := env.Admin().UserChannelMultiplierSetWithResponse(ctx, adminclient.UserId(alice.ID), adminclient.ChannelMultiplierSet{Items: []adminclient.ChannelMultiplier{}})
			return r.StatusCode(), err
		},
	} {
		status, err := set()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	env.Upstream.Enqueue(reply)
	require.NoError(t, chat(env, alice.Key))
	require.Equal(t, int64(9750), logs(t, env, alice.ID)[0].Quota)
}

// TestMultiplierSetRefusals: unknown subjects are 404, a group listed twice is 400.
func TestMultiplierSetRefusals(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	ch := env.Channel("main", []string{model}, "sk-mult-account-0002")
	vip := group(t, env, "vip", 1500)
	twice := adminclient.GroupMultiplierSet{Items: []adminclient.GroupMultiplier{{GroupId: vip, MultiplierPermille: 800}, {GroupId: vip, MultiplierPermille: 900}}}
	r, err := env.Admin().ChannelGroupMultiplierSetWithResponse(ctx, ch, twice)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, r.StatusCode(), string(r.Body))
	unknown := adminclient.GroupMultiplierSet{Items: []adminclient.GroupMultiplier{{GroupId: 999_999, MultiplierPermille: 800}}}
	r, err = env.Admin().ChannelGroupMultiplierSetWithResponse(ctx, ch, unknown)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, r.StatusCode(), string(r.Body))
	r, err = env.Admin().ChannelGroupMultiplierSetWithResponse(ctx, 999_999, adminclient.GroupMultiplierSet{Items: []adminclient.GroupMultiplier{}})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, r.StatusCode(), string(r.Body))
	u, err := env.Admin().UserChannelMultiplierSetWithResponse(ctx, adminclient.UserId(999_999), adminclient.ChannelMultiplierSet{Items: []adminclient.ChannelMultiplier{}})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, u.StatusCode(), string(u.Body))
}
