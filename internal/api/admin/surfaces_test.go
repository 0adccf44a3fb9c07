package admin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
)

func TestAnnouncements(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now().UTC().Truncate(time.Second)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)

	create := func(w adminclient.AnnouncementWrite) commonclient.Announcement {
		t.Helper()
		res, err := b.admin.AnnouncementCreateWithResponse(b.ctx, w)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
		return *res.JSON201
	}
	open := create(adminclient.AnnouncementWrite{Title: "open", Content: "for all"})
	require.Equal(t, commonclient.All, open.Audience)
	require.Nil(t, wire.Ptr(open.StartsAt))
	current := create(adminclient.AnnouncementWrite{Title: "current", Content: "now", StartsAt: wire.Opt(&past), EndsAt: wire.Opt(&future),
		Audience: ptr(commonclient.All)})
	create(adminclient.AnnouncementWrite{Title: "scheduled", Content: "later", StartsAt: wire.Opt(&future), Audience: ptr(commonclient.All)})
	create(adminclient.AnnouncementWrite{Title: "over", Content: "before", EndsAt: wire.Opt(&past)})
	users := create(adminclient.AnnouncementWrite{Title: "members", Content: "signed in", Audience: ptr(commonclient.Users)})
	create(adminclient.AnnouncementWrite{Title: "staff", Content: "admins", Audience: ptr(commonclient.Admins)})

	titles := func(l *commonclient.AnnouncementList) []string {
		out := []string{}
		for _, a := range l.Items {
			out = append(out, a.Title)
		}
		return out
	}
	all, err := b.admin.AnnouncementListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"staff", "members", "over", "scheduled", "current", "open"}, titles(all.JSON200))

	pub, err := b.env.Public().AnnouncementPublicListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pub.StatusCode(), string(pub.Body))
	require.ElementsMatch(t, []string{"current", "open"}, titles(pub.JSON200))

	alice := b.env.NewUser("alice", 0)
	mine, err := b.env.User(alice.Token).AnnouncementUserListWithResponse(b.ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"current", "open", "members"}, titles(mine.JSON200))
	mine, err = b.env.User(b.env.AdminToken).AnnouncementUserListWithResponse(b.ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"current", "open", "members", "staff"}, titles(mine.JSON200))

	up, err := b.admin.AnnouncementUpdateWithResponse(b.ctx, users.Id, adminclient.AnnouncementWrite{Title: "members!", Content: "x"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, commonclient.All, up.JSON200.Audience, "a replaced announcement without audience is for all")

	bad, err := b.admin.AnnouncementCreateWithResponse(b.ctx, adminclient.AnnouncementWrite{Title: "x", Content: "y",
		StartsAt: wire.Opt(&future), EndsAt: wire.Opt(&past)})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "ends_at", bad.StatusCode(), bad.Body)

	del, err := b.admin.AnnouncementDeleteWithResponse(b.ctx, current.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	del, err = b.admin.AnnouncementDeleteWithResponse(b.ctx, current.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "announcement", del.StatusCode(), del.Body)
	nf, err := b.admin.AnnouncementUpdateWithResponse(b.ctx, 9999, adminclient.AnnouncementWrite{Title: "x", Content: "y"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "announcement", nf.StatusCode(), nf.Body)
}

func TestChannelModels(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("main", []string{"gpt-4o-mini", "gpt-4o"})

	names := func() ([]string, []string) {
		t.Helper()
		res, err := b.admin.ChannelModelListWithResponse(b.ctx, ch)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		var n, up []string
		for _, m := range res.JSON200.Items {
			n, up = append(n, m.Name), append(up, m.UpstreamName)
		}
		c, err := b.admin.ChannelGetWithResponse(b.ctx, ch)
		require.NoError(t, err)
		require.Equal(t, n, c.JSON200.Models, "the channel's models and its channel models agree")
		return n, up
	}
	n, up := names()
	require.Equal(t, []string{"gpt-4o-mini", "gpt-4o"}, n)
	require.Equal(t, n, up, "unmapped by default")

	cm, err := b.admin.ChannelModelCreateWithResponse(b.ctx, ch, adminclient.ChannelModelCreate{Name: "gpt-4.1",
		UpstreamName: ptr("gpt-4.1-2025-04-14")})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, cm.StatusCode(), string(cm.Body))
	n, up = names()
	require.Equal(t, []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1"}, n)
	require.Equal(t, "gpt-4.1-2025-04-14", up[2])

	dup, err := b.admin.ChannelModelCreateWithResponse(b.ctx, ch, adminclient.ChannelModelCreate{Name: "gpt-4o"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "conflict", "already serves", dup.StatusCode(), dup.Body)
	missing, err := b.admin.ChannelModelCreateWithResponse(b.ctx, 9999, adminclient.ChannelModelCreate{Name: "x"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", missing.StatusCode(), missing.Body)
	ml, err := b.admin.ChannelModelListWithResponse(b.ctx, 9999)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "channel not found", ml.StatusCode(), ml.Body)

	upd, err := b.admin.ChannelModelUpdateWithResponse(b.ctx, cm.JSON201.Id, adminclient.ChannelModelUpdate{Name: ptr("gpt-4.1-latest")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, upd.StatusCode(), string(upd.Body))
	require.Equal(t, "gpt-4.1-2025-04-14", upd.JSON200.UpstreamName)
	n, _ = names()
	require.Equal(t, []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1-latest"}, n)

	// Writing the channel's model list keeps the mapping of the names that stay.
	cu, err := b.admin.ChannelUpdateWithResponse(b.ctx, ch, adminclient.ChannelUpdate{Models: &[]string{"gpt-4.1-latest", "o3"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cu.StatusCode(), string(cu.Body))
	n, up = names()
	require.Equal(t, []string{"gpt-4.1-latest", "o3"}, n)
	require.Equal(t, []string{"gpt-4.1-2025-04-14", "o3"}, up)

	del, err := b.admin.ChannelModelDeleteWithResponse(b.ctx, cm.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	n, _ = names()
	require.Equal(t, []string{"o3"}, n)
	del, err = b.admin.ChannelModelDeleteWithResponse(b.ctx, cm.JSON201.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "channel model", del.StatusCode(), del.Body)
}

func TestUserDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.env.NewUser("alice", 1000)
	seedLogs(t, b.env, []seedLog{{user: alice.ID, model: "gpt-4o", status: 200, at: "2026-11-21T10:00:00Z"}})

	self, err := b.admin.UserDeleteWithResponse(b.ctx, 1)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "yourself", self.StatusCode(), self.Body)

	for range 2 { // deleting twice is not an error
		res, err := b.admin.UserDeleteWithResponse(b.ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
	}
	nf, err := b.admin.UserDeleteWithResponse(b.ctx, 9999)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", nf.StatusCode(), nf.Body)

	list, err := b.admin.UserListWithResponse(b.ctx, nil)
	require.NoError(t, err)
	for _, u := range list.JSON200.Items {
		require.NotEqual(t, alice.ID, u.Id, "a deleted user leaves the list")
	}
	got, err := b.admin.UserGetWithResponse(b.ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, commonclient.UserStatus("disabled"), got.JSON200.Status)

	// Her key and session stop; her history stays.
	me, err := b.env.User(alice.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, me.StatusCode())
	me, err = b.env.User(alice.Token).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, me.StatusCode())
	logs, err := b.admin.LogListWithResponse(b.ctx, &adminclient.LogListParams{UserId: &alice.ID})
	require.NoError(t, err)
	require.Len(t, logs.JSON200.Items, 1)

	back, err := b.admin.UserUpdateWithResponse(b.ctx, alice.ID, adminclient.UserUpdate{Status: ptr(commonclient.UserStatus("active"))})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "deleted", back.StatusCode(), back.Body)
}

func TestUserChannelUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.env.NewUser("alice", 0)
	ch := b.env.Channel("mine", []string{"gpt-4o"})
	uc, err := b.admin.UserChannelCreateWithResponse(b.ctx, adminclient.UserChannelCreate{UserId: alice.ID, ChannelId: ch})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, uc.StatusCode(), string(uc.Body))

	up, err := b.admin.UserChannelUpdateWithResponse(b.ctx, uc.JSON201.Id, adminclient.UserChannelUpdate{Priority: 7})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, 7, up.JSON200.Priority)
	list, err := b.admin.UserChannelListWithResponse(b.ctx, nil)
	require.NoError(t, err)
	require.Equal(t, 7, list.JSON200.Items[0].Priority)

	nf, err := b.admin.UserChannelUpdateWithResponse(b.ctx, 9999, adminclient.UserChannelUpdate{Priority: 1})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", nf.StatusCode(), nf.Body)
}

func TestModelSyncOneStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("main", []string{"legacy-model"}, "sk-upstream-aaaa1111")
	res, err := b.admin.ModelSyncWithResponse(b.ctx, adminclient.ModelSyncApply{ChannelIds: &[]int64{ch}, Remove: ptr(true)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Len(t, res.JSON200.Fetched, 1)
	require.True(t, res.JSON200.Fetched[0].Ok)
	require.Len(t, res.JSON200.Applied, 1)
	require.NotContains(t, res.JSON200.Applied[0].Models, "legacy-model")
	require.Contains(t, res.JSON200.Applied[0].Models, "gpt-4o")
	c, err := b.admin.ChannelGetWithResponse(b.ctx, ch)
	require.NoError(t, err)
	require.Equal(t, res.JSON200.Applied[0].Models, c.JSON200.Models)
}

func TestPriceSync(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "127.0.0.0/8" }))
	b := &testBundle{env: env, admin: env.Admin(), raw: env.Admin(), ctx: t.Context()}
	env.Price("gpt-4o", 2_500_000, 10_000_000)
	env.Price("gpt-4o-mini", 150_000, 600_000)
	env.Channel("main", []string{"gpt-4o", "gpt-4o-mini", "o3"})

	own := `{"models":[{"name":"gpt-4o","input_price":2500000,"output_price":10000000},
		{"name":"gpt-4o-mini","input_price":200000,"output_price":800000,"cached_input_price":100000},
		{"name":"o3","input_price":2000000,"output_price":8000000},
		{"name":"not-served","input_price":1,"output_price":1}]}`
	router := `{"data":[{"id":"openai/gpt-4o","pricing":{"prompt":"0.0000025","completion":"0.00001"}},
		{"id":"openai/o3","pricing":{"prompt":"0.000002","completion":"0.000008","input_cache_read":"0.0000005"}},
		{"id":"openrouter/auto","pricing":{"prompt":"-1","completion":"-1"}}]}`
	lists := map[string]string{"/own.json": own, "/router.json": router}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := lists[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)

	pv, err := b.admin.ModelPriceSyncPreviewWithResponse(b.ctx, adminclient.PriceSyncRequest{Url: ptr(srv.URL + "/own.json")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pv.StatusCode(), string(pv.Body))
	require.Equal(t, 1, pv.JSON200.Unchanged)
	require.Len(t, pv.JSON200.Items, 2)
	mini, o3 := pv.JSON200.Items[0], pv.JSON200.Items[1]
	require.Equal(t, "gpt-4o-mini", mini.Name)
	require.Equal(t, adminclient.Update, mini.Action)
	require.EqualValues(t, 150_000, mini.Current.InputPrice)
	require.Equal(t, adminclient.PriceSet{InputPrice: 200_000, OutputPrice: 800_000, CachedInputPrice: wire.Opt(ptr(int64(100_000)))}, mini.Proposed)
	require.Equal(t, "o3", o3.Name)
	require.Equal(t, adminclient.Create, o3.Action)
	require.Nil(t, o3.Current)

	// A dollar list converts at quota_per_usd (here 500000 units per dollar).
	pv, err = b.admin.ModelPriceSyncPreviewWithResponse(b.ctx, adminclient.PriceSyncRequest{Url: ptr(srv.URL + "/router.json"),
		QuotaPerUsd: ptr(int64(500_000))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pv.StatusCode(), string(pv.Body))
	require.Len(t, pv.JSON200.Items, 2)
	require.Equal(t, adminclient.PriceSet{InputPrice: 1_250_000, OutputPrice: 5_000_000,
		CachedInputPrice: nullable.NewNullNullable[int64]()}, pv.JSON200.Items[0].Proposed)
	require.Equal(t, adminclient.PriceSet{InputPrice: 1_000_000, OutputPrice: 4_000_000, CachedInputPrice: wire.Opt(ptr(int64(250_000)))},
		pv.JSON200.Items[1].Proposed)

	ap, err := b.admin.ModelPriceSyncApplyWithResponse(b.ctx, adminclient.PriceSyncRequest{Url: ptr(srv.URL + "/own.json"),
		Names: &[]string{"o3"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ap.StatusCode(), string(ap.Body))
	require.Len(t, ap.JSON200.Items, 1)
	require.Equal(t, "o3", ap.JSON200.Items[0].Name)
	ap, err = b.admin.ModelPriceSyncApplyWithResponse(b.ctx, adminclient.PriceSyncRequest{Url: ptr(srv.URL + "/own.json")})
	require.NoError(t, err)
	require.Len(t, ap.JSON200.Items, 1, "o3 is priced already; only gpt-4o-mini changes")
	models, err := b.admin.ModelListWithResponse(b.ctx)
	require.NoError(t, err)
	for _, m := range models.JSON200.Items {
		if m.Name == "gpt-4o-mini" {
			require.EqualValues(t, 200_000, m.InputPrice)
			require.EqualValues(t, 100_000, m.CachedInputPrice.MustGet())
		}
	}

	for name, req := range map[string]adminclient.PriceSyncRequest{
		"NotFound":    {Url: ptr(srv.URL + "/missing.json")},
		"NoRate":      {Url: ptr(srv.URL + "/router.json")},
		"Unreachable": {Url: ptr("http://127.0.0.1:1/prices.json")},
	} {
		res, err := b.admin.ModelPriceSyncPreviewWithResponse(b.ctx, req)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "price list", res.StatusCode(), res.Body)
	}
}

func TestPriceSyncPrivateRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.admin.ModelPriceSyncPreviewWithResponse(b.ctx, adminclient.PriceSyncRequest{Url: ptr("http://127.0.0.1:9/p.json")})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "unprocessable", "not allowed", res.StatusCode(), res.Body)
}
