package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// group creates a group through the admin API.
func group(t *testing.T, env *apptest.Env, name string, permille int, channels ...int64) int64 {
	t.Helper()
	if channels == nil {
		channels = []int64{}
	}
	res, err := env.Admin().GroupCreateWithResponse(context.Background(), adminclient.GroupCreate{Name: name,
		MultiplierPermille: &permille, ChannelIds: &channels})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201.Id
}

func setGroup(t *testing.T, env *apptest.Env, user, g int64) {
	t.Helper()
	res, err := env.Admin().UserUpdateWithResponse(context.Background(), user, adminclient.UserUpdate{GroupId: &g})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}

func TestGroupsRestrictChannelsAndMultiplyCharges(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	open := env.Channel("open", []string{model}, "sk-open-account-0001")
	vip := env.Channel("vip", []string{model}, "sk-vip-account-0002")
	prio := 10
	res, err := env.Admin().ChannelUpdateWithResponse(ctx, vip, adminclient.ChannelUpdate{Priority: &prio})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	vipGroup := group(t, env, "vip", 1234, vip)
	other := group(t, env, "other", 1000)
	alice := env.NewUser("alice", 1_000_000) // no group
	bob := env.NewUser("bob", 1_000_000)
	carol := env.NewUser("carol", 1_000_000)
	setGroup(t, env, bob.ID, vipGroup)
	setGroup(t, env, carol.ID, other)

	// Users outside the group never ride the restricted channel, even though it ranks higher.
	for _, u := range []*apptest.TestUser{alice, carol, alice, carol} {
		env.Upstream.Enqueue(ok("hi"))
		require.NoError(t, chat(env, u.Key))
	}
	for _, c := range credentials(env) {
		require.Equal(t, "sk-open-account-0001", c)
	}
	// The group's users ride it first; the multiplier applies to their charge, rounded up.
	env.Upstream.Reset()
	env.Upstream.Enqueue(ok("hi"))
	require.NoError(t, chat(env, bob.Key))
	require.Equal(t, []string{"sk-vip-account-0002"}, credentials(env))
	env.FlushUsage()
	base, charged := logs(t, env, alice.ID)[0].Quota, logs(t, env, bob.ID)[0].Quota
	require.Positive(t, base)
	require.Equal(t, (base*1234+999)/1000, charged)
	require.Equal(t, int64(1_000_000)-charged, env.Balance(bob.ID))

	// Lifting the restriction (no channels) opens the channel to everyone, at once.
	empty := []int64{}
	up, err := env.Admin().GroupUpdateWithResponse(ctx, vipGroup, adminclient.GroupUpdate{ChannelIds: &empty})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Empty(t, up.JSON200.ChannelIds)
	env.Upstream.Reset()
	require.NoError(t, chat(env, alice.Key))
	require.Equal(t, []string{"sk-vip-account-0002"}, credentials(env))
	_ = open
}

func TestKeyBoundAccountFirst(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	ch := env.Channel("main", []string{model}, "sk-shared-account-0001", "sk-bound-account-0002")
	alice := env.NewUser("alice", 1_000_000)
	bob := env.NewUser("bob", 1_000_000)
	k2, err := env.User(alice.Token).ApiKeyCreateWithResponse(ctx, userclient.ApiKeyCreateRequest{Name: "second"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, k2.StatusCode(), string(k2.Body))

	bound := accounts(t, env, ch)["0002"]
	res, err := env.Admin().AccountUpdateWithResponse(ctx, ch, bound.Id, adminclient.AccountUpdate{ApiKeyId: &k2.JSON201.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, k2.JSON201.Id, res.JSON200.ApiKeyId.MustGet())
	require.Equal(t, alice.ID, res.JSON200.OwnerUserId.MustGet()) // dedicated to the key's owner too

	// The bound key rides its account every time; the owner's other key and other users never do.
	for range 3 {
		require.NoError(t, chat(env, k2.JSON201.Key))
	}
	require.Equal(t, []string{"sk-bound-account-0002", "sk-bound-account-0002", "sk-bound-account-0002"}, credentials(env))
	env.Upstream.Reset()
	for _, k := range []string{alice.Key, bob.Key, alice.Key, bob.Key} {
		require.NoError(t, chat(env, k))
	}
	for _, c := range credentials(env) {
		require.Equal(t, "sk-shared-account-0001", c)
	}
	// When the bound account fails, the key's calls fall back to the shared pool.
	env.Upstream.Reset()
	env.Upstream.EnqueueFor("sk-bound-account-0002", fakeupstream.Reply{Status: 500})
	require.NoError(t, chat(env, k2.JSON201.Key))
	require.Equal(t, []string{"sk-bound-account-0002", "sk-shared-account-0001"}, credentials(env))

	bad := int64(999_999)
	res, err = env.Admin().AccountUpdateWithResponse(ctx, ch, bound.Id, adminclient.AccountUpdate{ApiKeyId: &bad})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode(), string(res.Body))
}

func TestLoginTokenPreferredAccount(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	ch := env.Channel("main", []string{model}, "sk-first-account-0001", "sk-liked-account-0002")
	liked := accounts(t, env, ch)["0002"]
	nick := "Car B"
	res, err := env.Admin().AccountUpdateWithResponse(ctx, ch, liked.Id, adminclient.AccountUpdate{Nickname: &nick})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	u := env.NewUser("alice", 1_000_000)

	hc := &http.Client{Transport: env.HTTP.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	lt, err := hc.Get(env.URL + "/logintoken?" + url.Values{"access_token": {u.Key}, "carid": {nick}}.Encode())
	require.NoError(t, err)
	lt.Body.Close()
	require.Equal(t, http.StatusFound, lt.StatusCode)
	require.True(t, strings.HasPrefix(lt.Header.Get("Location"), "/app"))

	// The user's keys now ride the account chosen at sign-in while it is eligible.
	for range 3 {
		require.NoError(t, chat(env, u.Key))
	}
	require.Equal(t, []string{"sk-liked-account-0002", "sk-liked-account-0002", "sk-liked-account-0002"}, credentials(env))
	// When it fails, the call fails over.
	env.Upstream.Reset()
	env.Upstream.EnqueueFor("sk-liked-account-0002", fakeupstream.Reply{Status: 500})
	require.NoError(t, chat(env, u.Key))
	require.Equal(t, []string{"sk-liked-account-0002", "sk-first-account-0001"}, credentials(env))
}

func TestGeminiInvalidKeyFailsOver(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	ctx := context.Background()
	const good, bad = "sk-gemini-good-0001", "sk-gemini-bad-00002"
	up := httptest.NewServer(fakeupstream.New(fakeupstream.WithKeys(good)))
	t.Cleanup(up.Close)
	ch, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "gemini", Type: adminclient.Gemini,
		BaseUrl: up.URL, Models: []string{"m-gemini"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
	for _, cred := range []string{bad, good} {
		a, err := env.Admin().AccountCreateWithResponse(ctx, ch.JSON201.Id, adminclient.AccountCreate{Credential: cred})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, a.StatusCode(), string(a.Body))
	}
	env.Price("m-gemini", inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	sdk := client(env, u.Key)

	// Gemini refuses a bad key with 400 INVALID_ARGUMENT (API_KEY_INVALID): the caller never sees
	// it, the call fails over and the account waits for re-authentication.
	p := params()
	p.Model = "m-gemini"
	for range 3 {
		out, err := sdk.Chat.Completions.New(ctx, p)
		require.NoError(t, err)
		require.NotEmpty(t, out.Choices)
	}
	accs := accounts(t, env, ch.JSON201.Id)
	require.Equal(t, adminclient.AccountStatusNeedsReauth, accs["0002"].Status)
	require.Equal(t, adminclient.AccountStatusActive, accs["0001"].Status)
}

func TestOwnerBindsKey(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	alice := env.NewUser("alice", 1_000_000)
	bob := env.NewUser("bob", 1_000_000)
	ch := env.Channel("main", []string{model}, "sk-shared-account-0001")
	own, err := env.Admin().AccountCreateWithResponse(ctx, ch, adminclient.AccountCreate{Credential: "sk-alice-account-0002", OwnerUserId: wire.Opt(&alice.ID)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, own.StatusCode(), string(own.Body))
	k2, err := env.User(alice.Token).ApiKeyCreateWithResponse(ctx, userclient.ApiKeyCreateRequest{Name: "bound"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, k2.StatusCode(), string(k2.Body))

	// Others cannot bind it, nor bind it to a key that is not the owner's.
	res, err := env.User(bob.Token).AccountKeyBindWithResponse(ctx, own.JSON201.Id, userclient.AccountKeyBinding{ApiKeyId: bob.KeyID})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode(), string(res.Body))
	res, err = env.User(alice.Token).AccountKeyBindWithResponse(ctx, own.JSON201.Id, userclient.AccountKeyBinding{ApiKeyId: bob.KeyID})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode(), string(res.Body))

	res, err = env.User(alice.Token).AccountKeyBindWithResponse(ctx, own.JSON201.Id, userclient.AccountKeyBinding{ApiKeyId: k2.JSON201.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, k2.JSON201.Id, res.JSON200.ApiKeyId.MustGet())
	require.NoError(t, chat(env, alice.Key))
	require.NoError(t, chat(env, k2.JSON201.Key))
	require.Equal(t, []string{"sk-shared-account-0001", "sk-alice-account-0002"}, credentials(env))

	// Unbound, it is Alice's dedicated account again, for all her keys.
	res, err = env.User(alice.Token).AccountKeyBindWithResponse(ctx, own.JSON201.Id, userclient.AccountKeyBinding{ApiKeyId: 0})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Nil(t, wire.Ptr(res.JSON200.ApiKeyId))
	env.Upstream.Reset()
	require.NoError(t, chat(env, alice.Key))
	require.Equal(t, []string{"sk-alice-account-0002"}, credentials(env))
}
