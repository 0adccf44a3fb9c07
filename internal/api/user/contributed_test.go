package user_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// contribEnv is an app with a channel designated for contributed OpenAI accounts, on its own
// fake upstream that accepts only the given keys.
type contribEnv struct {
	env      *apptest.Env
	upstream *fakeupstream.Server
	channel  int64
	url      string // the fake upstream's root
}

func newContribEnv(t *testing.T, keys ...string) *contribEnv {
	t.Helper()
	return newContribEnvWith(t, nil, keys...)
}

// newContribEnvWith is newContribEnv with app options.
func newContribEnvWith(t *testing.T, opts []apptest.Option, keys ...string) *contribEnv {
	t.Helper()
	env := apptest.New(t, opts...)
	env.Price("gpt-4o-mini", 150, 600)
	up := fakeupstream.New(fakeupstream.WithKeys(keys...))
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	ch, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "contributed", Type: adminclient.Openai,
		BaseUrl: srv.URL + "/v1", Models: []string{"gpt-4o-mini"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
	set, err := env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{
		ContributedAccountChannels: &adminclient.ContributedAccountChannels{"openai": ch.JSON201.Id}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, set.StatusCode(), string(set.Body))
	require.Equal(t, map[string]int64{"openai": ch.JSON201.Id}, set.JSON200.ContributedAccountChannels)
	return &contribEnv{env: env, upstream: up, channel: ch.JSON201.Id, url: srv.URL}
}

func (c *contribEnv) contribute(t *testing.T, u *apptest.TestUser, cred string, shared bool) *userclient.ContributedAccount {
	t.Helper()
	res, err := c.env.User(u.Token).ContributedAccountCreateWithResponse(context.Background(), userclient.ContributedAccountCreate{
		Provider: "openai", Credential: cred, Nickname: ptrTo("mine"), Shared: &shared})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201
}

// chat makes one gateway call and returns the credential the upstream saw (empty when refused).
func (c *contribEnv) chat(t *testing.T, key string) (int, string) {
	t.Helper()
	before := len(c.upstream.Requests())
	res, err := gateway(t, c.env, key).ChatCompletionCreateWithBodyWithResponse(context.Background(), "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}`))
	require.NoError(t, err)
	reqs := c.upstream.Requests()
	if len(reqs) == before {
		return res.StatusCode(), ""
	}
	return res.StatusCode(), reqs[len(reqs)-1].Credential
}

func TestContributedAccountLifecycle(t *testing.T) {
	t.Parallel()
	const good = "sk-contrib-good-0123456789"
	c := newContribEnv(t, good)
	ctx := context.Background()
	owner, rider := c.env.NewUser("owner", 1_000_000), c.env.NewUser("rider", 1_000_000)
	ou := c.env.User(owner.Token)

	// A refused credential: 422 naming the upstream's complaint, the key itself never echoed.
	bad := "sk-contrib-wrong-9876543210"
	res, err := ou.ContributedAccountCreateWithResponse(ctx, userclient.ContributedAccountCreate{Provider: "openai", Credential: bad})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "credential_rejected", "HTTP 401", res.StatusCode(), res.Body)
	require.Contains(t, string(res.Body), "Incorrect API key")
	require.NotContains(t, string(res.Body), bad)

	// A provider the administrator did not designate a channel for.
	res, err = ou.ContributedAccountCreateWithResponse(ctx, userclient.ContributedAccountCreate{Provider: "gemini", Credential: good})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "provider_not_offered", "openai", res.StatusCode(), res.Body)

	// Accepted, shared; the credential never comes back.
	a := c.contribute(t, owner, good, true)
	require.True(t, a.Shared)
	require.Equal(t, userclient.AccountStateActive, a.State)
	require.Equal(t, "****6789", a.CredentialTail)
	require.NotContains(t, string(mustJSON(t, a)), good)

	// The same credential again, from anyone: 409.
	res, err = c.env.User(rider.Token).ContributedAccountCreateWithResponse(ctx, userclient.ContributedAccountCreate{Provider: "openai", Credential: good})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "conflict", "already in the pool", res.StatusCode(), res.Body)

	// Another user rides it; the owner sees that use.
	status, cred := c.chat(t, rider.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, good, cred)
	c.env.FlushUsage()
	list, err := ou.ContributedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Equal(t, []string{"openai"}, list.JSON200.Providers)
	require.Len(t, list.JSON200.Items, 1)
	require.EqualValues(t, 1, list.JSON200.Items[0].UsageByOthers.Calls)
	require.Positive(t, list.JSON200.Items[0].UsageByOthers.Tokens)

	// The administrator sees who contributed it.
	al, err := c.env.Admin().AccountListWithResponse(ctx, c.channel)
	require.NoError(t, err)
	require.Len(t, al.JSON200.Items, 1)
	require.Equal(t, owner.ID, *al.JSON200.Items[0].ContributorUserId)
	require.Nil(t, wire.Ptr(al.JSON200.Items[0].OwnerUserId), "shared: no owner")

	// Made dedicated, it serves only its owner.
	up, err := ou.ContributedAccountUpdateWithResponse(ctx, a.Id, userclient.ContributedAccountUpdate{Shared: ptrTo(false)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.False(t, up.JSON200.Shared)
	status, _ = c.chat(t, rider.Key)
	require.Equal(t, http.StatusServiceUnavailable, status)
	status, cred = c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, good, cred)

	// A new credential is checked too; other users cannot touch the account.
	up, err = ou.ContributedAccountUpdateWithResponse(ctx, a.Id, userclient.ContributedAccountUpdate{Credential: ptrTo(bad)})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnprocessableEntity, "credential_rejected", "", up.StatusCode(), up.Body)
	up, err = c.env.User(rider.Token).ContributedAccountUpdateWithResponse(ctx, a.Id, userclient.ContributedAccountUpdate{Nickname: ptrTo("x")})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", up.StatusCode(), up.Body)
	del, err := c.env.User(rider.Token).ContributedAccountDeleteWithResponse(ctx, a.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "", del.StatusCode(), del.Body)

	// The administrator disables it: the owner sees it disabled.
	st := adminclient.ActiveStatusDisabled
	ad, err := c.env.Admin().AccountUpdateWithResponse(ctx, c.channel, a.Id, adminclient.AccountUpdate{Status: &st})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ad.StatusCode(), string(ad.Body))
	list, err = ou.ContributedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, userclient.AccountStateDisabled, list.JSON200.Items[0].State)
	require.Equal(t, "admin", list.JSON200.Items[0].StateReason)

	// The owner removes it.
	del, err = ou.ContributedAccountDeleteWithResponse(ctx, a.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	list, err = ou.ContributedAccountListWithResponse(ctx)
	require.NoError(t, err)
	require.Empty(t, list.JSON200.Items)
}

func TestContributedAccountValidation(t *testing.T) {
	t.Parallel()
	c := newContribEnv(t, "sk-contrib-good-0123456789")
	ctx := context.Background()
	u := c.env.NewUser("val", 0)
	raw, err := userclient.NewClientWithResponses(c.env.URL, userclient.WithHTTPClient(c.env.RawHTTP),
		userclient.WithRequestEditorFn(apptest.Bearer(u.Token)))
	require.NoError(t, err)
	for _, bad := range []string{`{"provider":"openai"}`, `{"provider":"openai","credential":"short"}`,
		`{"provider":"openai","credential":"sk-contrib-good-0123456789","extra":1}`,
		`{"provider":"","credential":"sk-contrib-good-0123456789"}`} {
		res, err := raw.ContributedAccountCreateWithBodyWithResponse(ctx, "application/json", body(bad))
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
	}
	pr, err := raw.PreferencesUpdateWithBodyWithResponse(ctx, "application/json", body(`{"account_priority":"random"}`))
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", pr.StatusCode(), pr.Body)

	// An administrator may designate only existing channels, under slug-like names.
	for _, bad := range []map[string]int64{{"openai": 999999}, {"Bad Name": c.channel}} {
		m := adminclient.ContributedAccountChannels(bad)
		res, err := c.env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{ContributedAccountChannels: &m})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "contributed_account_channels", res.StatusCode(), res.Body)
	}
}

// TestAccountPriority checks dedicated_first (the default) and shared_first pick the owner's
// dedicated account or the shared pool first.
func TestAccountPriority(t *testing.T) {
	t.Parallel()
	const mine, pooled = "sk-contrib-mine-0123456789", "sk-contrib-pool-0123456789"
	c := newContribEnv(t, mine, pooled)
	ctx := context.Background()
	owner := c.env.NewUser("prio", 1_000_000)
	c.contribute(t, owner, mine, false)
	// A shared account on the same channel, added by the administrator.
	a, err := c.env.Admin().AccountCreateWithResponse(ctx, c.channel, adminclient.AccountCreate{Credential: pooled})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.StatusCode(), string(a.Body))

	ou := c.env.User(owner.Token)
	pg, err := ou.PreferencesGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, userclient.DedicatedFirst, pg.JSON200.AccountPriority)
	for range 3 {
		_, cred := c.chat(t, owner.Key)
		require.Equal(t, mine, cred)
	}

	pu, err := ou.PreferencesUpdateWithResponse(ctx, userclient.Preferences{AccountPriority: userclient.SharedFirst})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pu.StatusCode(), string(pu.Body))
	require.Equal(t, userclient.SharedFirst, pu.JSON200.AccountPriority)
	for range 3 {
		_, cred := c.chat(t, owner.Key)
		require.Equal(t, pooled, cred)
	}

	// With the shared account out of rotation, the dedicated one still serves.
	st := adminclient.ActiveStatusDisabled
	up, err := c.env.Admin().AccountUpdateWithResponse(ctx, c.channel, a.JSON201.Id, adminclient.AccountUpdate{Status: &st})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	status, cred := c.chat(t, owner.Key)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, mine, cred)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
