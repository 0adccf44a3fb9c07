package user_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	gatewayclient "github.com/poolgate/poolgate/clients/go/gateway"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

const (
	msgUnauthorized = "密钥无效或已失效,请重新登录"
	msgForbidden    = "需要管理员权限才能执行这个操作"
)

type testBundle struct {
	env *apptest.Env
	// alice is a user with an API key; user is her client, checked against the spec both ways.
	alice *apptest.TestUser
	user  *userclient.ClientWithResponses
	// raw is alice's client for requests that break the spec on purpose (responses are checked).
	raw *userclient.ClientWithResponses
	ctx context.Context
}

func setup(t *testing.T, opts ...apptest.Option) *testBundle {
	t.Helper()
	env := apptest.New(t, opts...)
	return bundle(t, env, env.NewUser("alice", 1000))
}

func bundle(t *testing.T, env *apptest.Env, u *apptest.TestUser) *testBundle {
	t.Helper()
	raw, err := userclient.NewClientWithResponses(env.URL, userclient.WithHTTPClient(env.RawHTTP),
		userclient.WithRequestEditorFn(apptest.Bearer(u.Token)))
	require.NoError(t, err)
	return &testBundle{env: env, alice: u, user: env.User(u.Token), raw: raw, ctx: context.Background()}
}

// gateway is a gateway client of env calling with key.
func gateway(t *testing.T, env *apptest.Env, key string) *gatewayclient.ClientWithResponses {
	t.Helper()
	c, err := gatewayclient.NewClientWithResponses(env.URL, gatewayclient.WithHTTPClient(env.HTTP),
		gatewayclient.WithRequestEditorFn(apptest.Bearer(key)))
	require.NoError(t, err)
	return c
}

// models returns the status of GET /v1/models with key on env.
func models(t *testing.T, env *apptest.Env, key string) int {
	t.Helper()
	res, err := gateway(t, env, key).ModelsListWithResponse(context.Background(), nil)
	require.NoError(t, err)
	if res.StatusCode() != http.StatusOK {
		requireRefusedKey(t, res.StatusCode(), res.Body)
	}
	return res.StatusCode()
}

// requireRefusedKey checks the gateway's answer to a key it does not accept: OpenAI's shape.
func requireRefusedKey(t *testing.T, status int, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, status, string(body))
	var e struct {
		Error struct {
			Type string `json:"type"`
			Code string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, "authentication_error", e.Error.Type, string(body))
	require.Equal(t, "invalid_api_key", e.Error.Code, string(body))
}

func requireKeyAccepted(t *testing.T, env *apptest.Env, key string) {
	t.Helper()
	require.Equal(t, http.StatusOK, models(t, env, key))
}

// requireKeyRefused checks the gateway refuses key on both a listing and a chat call.
func requireKeyRefused(t *testing.T, env *apptest.Env, key string) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, models(t, env, key))
	res, err := gateway(t, env, key).ChatCompletionCreateWithBodyWithResponse(context.Background(), "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`))
	require.NoError(t, err)
	requireRefusedKey(t, res.StatusCode(), res.Body)
}

func (b *testBundle) createKey(t *testing.T, name string) *userclient.ApiKeySecret {
	t.Helper()
	res, err := b.user.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201
}

func (b *testBundle) list(t *testing.T) ([]userclient.ApiKey, []byte) {
	t.Helper()
	res, err := b.user.ApiKeyListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Items, res.Body
}

func hint(key string) string { return key[:7] + "…" + key[len(key)-4:] }

func TestMe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, token := range map[string]string{"JWT": b.alice.Token, "APIKey": b.alice.Key} {
		res, err := b.env.User(token).MeGetWithResponse(b.ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), "%s: %s", name, res.Body)
		me := res.JSON200
		require.Equal(t, b.alice.ID, me.Id)
		require.Equal(t, "alice", me.Username)
		require.EqualValues(t, "user", me.Role)
		require.EqualValues(t, "active", me.Status)
		require.EqualValues(t, 1000, me.Balance)
		require.NotContains(t, string(res.Body), "password")
	}
	res, err := b.env.User(b.env.AdminToken).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.EqualValues(t, "admin", res.JSON200.Role)
}

func TestNoCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, token := range map[string]string{"None": "", "Garbage": "not-a-jwt", "UnknownKey": "sk-" + strings.Repeat("x", 48)} {
		c := b.env.User(token)
		me, err := c.MeGetWithResponse(b.ctx)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, me.StatusCode(), me.Body)
		ls, err := c.ApiKeyListWithResponse(b.ctx)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, ls.StatusCode(), ls.Body)
		cr, err := c.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "x"})
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, cr.StatusCode(), cr.Body)
	}
	ch, err := b.env.AdminAs("").ChannelListWithResponse(b.ctx)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, ch.StatusCode(), ch.Body)
}

func TestAdminRoutesRefuseUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, token := range map[string]string{"APIKey": b.alice.Key, "JWT": b.alice.Token} {
		res, err := b.env.AdminAs(token).ChannelListWithResponse(b.ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, res.StatusCode(), name)
		require.JSONEq(t, `{"detail":{"error":"`+msgForbidden+`","code":"forbidden"}}`, string(res.Body))
	}
	// An administrator's API key is an administrator's credential.
	key, err := b.env.User(b.env.AdminToken).ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "ops"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, key.StatusCode(), string(key.Body))
	res, err := b.env.AdminAs(key.JSON201.Key).ChannelListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}

func TestAPIKeyCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	before := time.Now()
	k := b.createKey(t, "laptop")
	require.Regexp(t, `^sk-[0-9A-Za-z]{48}$`, k.Key)
	require.Equal(t, hint(k.Key), k.KeyHint)
	require.Equal(t, "laptop", k.Name)
	require.Equal(t, userclient.Active, k.Status)
	require.Zero(t, k.UsedQuota)
	require.Zero(t, k.RequestCount)
	require.Nil(t, wire.Ptr(k.LastUsedAt))
	require.WithinDuration(t, before, k.CreatedAt, time.Minute)
	require.NotEqual(t, b.alice.Key, k.Key)

	// Listed newest first, with hints; the full keys are never shown again.
	items, raw := b.list(t)
	require.Len(t, items, 2)
	require.Equal(t, k.Id, items[0].Id)
	require.Equal(t, b.alice.KeyID, items[1].Id)
	require.Equal(t, k.KeyHint, items[0].KeyHint)
	require.NotContains(t, string(raw), k.Key)
	require.NotContains(t, string(raw), b.alice.Key)
	require.NotContains(t, string(raw), k.Key[7:len(k.Key)-4], "not even the middle of a key")
	var objs struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(t, json.Unmarshal(raw, &objs))
	for _, it := range objs.Items {
		require.NotContains(t, it, "key")
		require.NotContains(t, it, "key_hash")
	}

	// The new key works on the gateway and as a management credential.
	requireKeyAccepted(t, b.env, k.Key)
	me, err := b.env.User(k.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
	require.Equal(t, b.alice.ID, me.JSON200.Id)
}

func TestAPIKeyUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k := b.createKey(t, "laptop")
	requireKeyAccepted(t, b.env, k.Key) // the gateway now holds it in its cache

	name := "old laptop"
	res, err := b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{Name: &name})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, "old laptop", res.JSON200.Name)
	require.Equal(t, userclient.Active, res.JSON200.Status)
	require.Equal(t, k.KeyHint, res.JSON200.KeyHint)
	require.NotContains(t, string(res.Body), k.Key)
	requireKeyAccepted(t, b.env, k.Key)

	disabled := userclient.Disabled
	res, err = b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{Status: &disabled})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, userclient.Disabled, res.JSON200.Status)
	require.Equal(t, "old laptop", res.JSON200.Name, "absent fields stay")
	// Refused at once, by the gateway and as a management credential.
	requireKeyRefused(t, b.env, k.Key)
	me, err := b.env.User(k.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, me.StatusCode(), me.Body)
	requireKeyAccepted(t, b.env, b.alice.Key) // the user's other key is untouched

	active := userclient.Active
	name = "laptop"
	res, err = b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{Name: &name, Status: &active})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, "laptop", res.JSON200.Name)
	require.Equal(t, userclient.Active, res.JSON200.Status)
	requireKeyAccepted(t, b.env, k.Key)

	items, _ := b.list(t)
	require.Equal(t, "laptop", items[0].Name)
	require.Equal(t, userclient.Active, items[0].Status)
}

func TestAPIKeyDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k := b.createKey(t, "laptop")
	requireKeyAccepted(t, b.env, k.Key)

	res, err := b.user.ApiKeyDeleteWithResponse(b.ctx, k.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
	require.Empty(t, res.Body)
	requireKeyRefused(t, b.env, k.Key)
	me, err := b.env.User(k.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, me.StatusCode(), me.Body)
	items, _ := b.list(t)
	require.Len(t, items, 1)
	require.Equal(t, b.alice.KeyID, items[0].Id)

	res, err = b.user.ApiKeyDeleteWithResponse(b.ctx, k.Id)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "api key not found", res.StatusCode(), res.Body)
	name := "again"
	up, err := b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{Name: &name})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "api key not found", up.StatusCode(), up.Body)
	rot, err := b.user.ApiKeyRotateWithResponse(b.ctx, userclient.ApiKeyRotateRequest{Id: k.Id})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusNotFound, "not_found", "api key not found", rot.StatusCode(), rot.Body)
}

func TestAPIKeyRotate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k := b.createKey(t, "laptop")
	requireKeyAccepted(t, b.env, k.Key)

	res, err := b.user.ApiKeyRotateWithResponse(b.ctx, userclient.ApiKeyRotateRequest{Id: k.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	n := res.JSON200
	require.Equal(t, k.Id, n.Id)
	require.Equal(t, "laptop", n.Name)
	require.Equal(t, k.CreatedAt.UTC(), n.CreatedAt.UTC())
	require.Regexp(t, `^sk-[0-9A-Za-z]{48}$`, n.Key)
	require.NotEqual(t, k.Key, n.Key)
	require.Equal(t, hint(n.Key), n.KeyHint)

	requireKeyRefused(t, b.env, k.Key)
	requireKeyAccepted(t, b.env, n.Key)
	me, err := b.env.User(k.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", msgUnauthorized, me.StatusCode(), me.Body)
	me, err = b.env.User(n.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))

	items, raw := b.list(t)
	require.Equal(t, n.KeyHint, items[0].KeyHint)
	require.NotContains(t, string(raw), n.Key)

	// A disabled key stays disabled through a rotation.
	disabled := userclient.Disabled
	up, err := b.user.ApiKeyUpdateWithResponse(b.ctx, k.Id, userclient.ApiKeyUpdateRequest{Status: &disabled})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	res, err = b.user.ApiKeyRotateWithResponse(b.ctx, userclient.ApiKeyRotateRequest{Id: k.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, userclient.Disabled, res.JSON200.Status)
	requireKeyRefused(t, b.env, res.JSON200.Key)
}

func TestAPIKeyOfAnotherUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bob := b.env.NewUser("bob", 0)
	requireKeyAccepted(t, b.env, bob.Key)

	name := "mine now"
	disabled := userclient.Disabled
	for _, id := range []int64{bob.KeyID, 999_999} {
		up, err := b.user.ApiKeyUpdateWithResponse(b.ctx, id, userclient.ApiKeyUpdateRequest{Name: &name, Status: &disabled})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "api key not found", up.StatusCode(), up.Body)
		rot, err := b.user.ApiKeyRotateWithResponse(b.ctx, userclient.ApiKeyRotateRequest{Id: id})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "api key not found", rot.StatusCode(), rot.Body)
		del, err := b.user.ApiKeyDeleteWithResponse(b.ctx, id)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusNotFound, "not_found", "api key not found", del.StatusCode(), del.Body)
	}
	// Bob's key is untouched.
	requireKeyAccepted(t, b.env, bob.Key)
	res, err := b.env.User(bob.Token).ApiKeyListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Len(t, res.JSON200.Items, 1)
	require.Equal(t, "test", res.JSON200.Items[0].Name)
	require.Equal(t, userclient.Active, res.JSON200.Items[0].Status)
	// And alice does not see it.
	items, raw := b.list(t)
	require.Len(t, items, 1)
	require.NotContains(t, string(raw), hint(bob.Key))
}

func TestAPIKeyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 99 { // alice already holds one
		b.createKey(t, "k")
	}
	res, err := b.user.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "one too many"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusConflict, "conflict", "at most 100", res.StatusCode(), res.Body)
	items, _ := b.list(t)
	require.Len(t, items, 100)
	// Deleting one makes room again.
	del, err := b.user.ApiKeyDeleteWithResponse(b.ctx, items[0].Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	b.createKey(t, "room again")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const ct = "application/json"
	for name, body := range map[string]string{
		"MalformedJSON": `{"name": `,
		"MissingName":   `{}`,
		"EmptyName":     `{"name": ""}`,
		"LongName":      `{"name": "` + strings.Repeat("n", 65) + `"}`,
		"WrongType":     `{"name": 7}`,
		"UnknownField":  `{"name": "x", "key": "sk-chosen-by-me"}`,
	} {
		res, err := b.raw.ApiKeyCreateWithBodyWithResponse(b.ctx, ct, strings.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, res.StatusCode(), "%s: %s", name, res.Body)
	}
	for name, body := range map[string]string{
		"Empty":         `{}`,
		"BadStatus":     `{"status": "paused"}`,
		"EmptyName":     `{"name": ""}`,
		"UnknownField":  `{"used_quota": 0}`,
		"MalformedJSON": `nope`,
	} {
		res, err := b.raw.ApiKeyUpdateWithBodyWithResponse(b.ctx, b.alice.KeyID, ct, strings.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, res.StatusCode(), "%s: %s", name, res.Body)
	}
	for name, body := range map[string]string{
		"MissingID": `{}`, "ZeroID": `{"id": 0}`, "StringID": `{"id": "1"}`, "UnknownField": `{"id": 1, "name": "x"}`,
	} {
		res, err := b.raw.ApiKeyRotateWithBodyWithResponse(b.ctx, ct, strings.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, res.StatusCode(), "%s: %s", name, res.Body)
	}
	for _, id := range []int64{0, -1} {
		res, err := b.raw.ApiKeyDeleteWithResponse(b.ctx, id)
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusBadRequest, "invalid_request", "", res.StatusCode(), res.Body)
	}
	req, err := http.NewRequestWithContext(b.ctx, http.MethodDelete, b.env.URL+"/api/user/api-keys/abc", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.alice.Token)
	resp, err := b.env.RawHTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	res, err := b.raw.ApiKeyCreateWithBodyWithResponse(b.ctx, ct,
		strings.NewReader(`{"name": "`+strings.Repeat("n", 1<<20)+`"}`))
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusRequestEntityTooLarge, "body_too_large", "", res.StatusCode(), res.Body)

	// Nothing changed.
	items, _ := b.list(t)
	require.Len(t, items, 1)
	require.Equal(t, "test", items[0].Name)
	require.Equal(t, userclient.Active, items[0].Status)
	requireKeyAccepted(t, b.env, b.alice.Key)
}

// TestCrossInstance runs two instances on one database and Redis: a key changed through one is
// refused by the other as soon as the invalidation arrives, even though it was cached there.
func TestCrossInstance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := apptest.New(t, apptest.Sharing(b.env))
	eventually := func(key string) {
		t.Helper()
		require.Eventually(t, func() bool { return models(t, other, key) == http.StatusUnauthorized },
			2*time.Second, 10*time.Millisecond, "the other instance still accepts the key")
		requireKeyRefused(t, other, key)
	}

	deleted, disabled, rotated := b.createKey(t, "deleted"), b.createKey(t, "disabled"), b.createKey(t, "rotated")
	for _, k := range []string{deleted.Key, disabled.Key, rotated.Key, b.alice.Key} {
		requireKeyAccepted(t, other, k) // cached on the other instance
	}

	del, err := b.user.ApiKeyDeleteWithResponse(b.ctx, deleted.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	requireKeyRefused(t, b.env, deleted.Key)
	eventually(deleted.Key)

	st := userclient.Disabled
	up, err := b.user.ApiKeyUpdateWithResponse(b.ctx, disabled.Id, userclient.ApiKeyUpdateRequest{Status: &st})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	eventually(disabled.Key)

	rot, err := b.user.ApiKeyRotateWithResponse(b.ctx, userclient.ApiKeyRotateRequest{Id: rotated.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rot.StatusCode(), string(rot.Body))
	eventually(rotated.Key)
	requireKeyAccepted(t, other, rot.JSON200.Key)

	// Keys nobody touched still work there.
	requireKeyAccepted(t, other, b.alice.Key)

	// Changes made on the other instance reach the first one as well.
	otherUser := bundle(t, other, b.alice)
	requireKeyAccepted(t, b.env, rot.JSON200.Key)
	del, err = otherUser.user.ApiKeyDeleteWithResponse(b.ctx, rotated.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	require.Eventually(t, func() bool { return models(t, b.env, rot.JSON200.Key) == http.StatusUnauthorized },
		2*time.Second, 10*time.Millisecond)
}
