package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/auth"
	"github.com/poolgate/poolgate/clients/go/common"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestSessionCalls: the gateway takes a signed-in session's JWT (as the SDK's key) or its cookie
// instead of an sk- key; the call is charged to the user, with no key; a session that ended stops.
func TestSessionCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "by jwt", Usage: &fakeupstream.Usage{PromptTokens: 2, CompletionTokens: 1}})
	res, err := sdk(b.env, b.user.Token).Chat.Completions.New(ctx, params())
	require.NoError(t, err)
	require.Equal(t, "by jwt", res.Choices[0].Message.Content)
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1)
	require.Nil(t, wire.Ptr(ls[0].ApiKeyId), "no key: charged to the user")
	require.Equal(t, int64(1_000_000-(2*3+1*7)), b.env.Balance(b.user.ID))

	// The cookie, from the site itself; from another site's page it is refused.
	cookie := signIn(t, b.env, "alice", "password-alice")
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	post := func(site string) *http.Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.env.URL+"/v1/chat/completions", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: "poolgate_session", Value: cookie})
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		res, err := b.env.RawHTTP.Do(req)
		require.NoError(t, err)
		return res
	}
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "by cookie"})
	r := post("same-origin")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, read(t, r), "by cookie")
	r = post("cross-site")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Equal(t, "csrf_refused", gjson.Get(read(t, r), "error.code").String())

	// Signed out, the JWT stops (an OpenAI-shaped 401).
	out, err := b.env.Auth().SessionLogoutWithResponse(ctx, apptest.Bearer(b.user.Token))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, out.StatusCode(), string(out.Body))
	_, err = sdk(b.env, b.user.Token).Chat.Completions.New(ctx, params())
	var oe *openai.Error
	require.ErrorAs(t, err, &oe)
	require.Equal(t, http.StatusUnauthorized, oe.StatusCode)
	require.Equal(t, "invalid_api_key", oe.Code)
	_, err = sdk(b.env, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged").Chat.Completions.New(ctx, params())
	require.ErrorAs(t, err, &oe)
	require.Equal(t, http.StatusUnauthorized, oe.StatusCode)
}

func signIn(t *testing.T, env *apptest.Env, username, password string) string {
	t.Helper()
	res, err := env.Auth().PasswordLoginWithResponse(context.Background(), authclient.LoginRequest{Username: username, Password: password})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	for _, c := range res.HTTPResponse.Cookies() {
		if c.Name == "poolgate_session" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func read(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	var sb strings.Builder
	_, err := io.Copy(&sb, r.Body)
	require.NoError(t, err)
	return sb.String()
}

// TestSessionRevokedAcrossInstances: a session ended on one instance stops on another within a
// second; disabling a user on one stops their key and sessions on the other at once.
func TestSessionRevokedAcrossInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := apptest.New(t, apptest.Sharing(b.env))
	ctx := context.Background()
	jwt := b.user.Token
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "on b"})
	require.Eventually(t, func() bool {
		_, err := sdk(other, jwt).Chat.Completions.New(ctx, params())
		return err == nil
	}, 3*time.Second, 20*time.Millisecond, "instance b serves the session")
	list, err := b.env.User(jwt).SessionListWithResponse(ctx)
	require.NoError(t, err)
	del, err := b.env.User(jwt).SessionDeleteWithResponse(ctx, list.JSON200.Items[0].Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	ended := time.Now()
	require.Eventually(t, func() bool {
		_, err := sdk(other, jwt).Chat.Completions.New(ctx, params())
		return statusOf(err) == http.StatusUnauthorized
	}, time.Second, 10*time.Millisecond, "the ended session stops on instance b within a second")
	t.Logf("stopped on the other instance after %v", time.Since(ended))

	// Disabled on a: the key and a fresh session stop on b.
	tok := loginToken(t, b.env, "alice", "password-alice")
	disabled := commonclient.Disabled
	up, err := b.env.Admin().UserUpdateWithResponse(ctx, b.user.ID, adminclient.UserUpdate{Status: &disabled})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Eventually(t, func() bool {
		_, e1 := sdk(other, b.user.Key).Chat.Completions.New(ctx, params())
		_, e2 := sdk(other, tok).Chat.Completions.New(ctx, params())
		return statusOf(e1) == http.StatusForbidden && statusOf(e2) == http.StatusUnauthorized
	}, time.Second, 10*time.Millisecond)
}

// TestMutedUser: a muted user signs in, but the gateway answers 403 in the protocol's shape,
// whatever the credential.
func TestMutedUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	muted := commonclient.Muted
	up, err := b.env.Admin().UserUpdateWithResponse(ctx, b.user.ID, adminclient.UserUpdate{Status: &muted})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	tok := loginToken(t, b.env, "alice", "password-alice")
	for _, cred := range []string{b.user.Key, tok} {
		_, err := sdk(b.env, cred).Chat.Completions.New(ctx, params())
		var oe *openai.Error
		require.ErrorAs(t, err, &oe)
		require.Equal(t, http.StatusForbidden, oe.StatusCode)
		require.Equal(t, "user_muted", oe.Code)
		require.Equal(t, "permission_error", oe.Type)
	}
	cl := anthropic.NewClient(aoption.WithBaseURL(b.env.URL), aoption.WithAPIKey(b.user.Key),
		aoption.WithHTTPClient(b.env.HTTP), aoption.WithMaxRetries(0))
	_, err = cl.Messages.New(ctx, anthropic.MessageNewParams{Model: model, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var ae *anthropic.Error
	require.True(t, errors.As(err, &ae), "%v", err)
	require.Equal(t, http.StatusForbidden, ae.StatusCode)
	require.Equal(t, "permission_error", gjson.Get(ae.RawJSON(), "error.type").String())
}

func loginToken(t *testing.T, env *apptest.Env, username, password string) string {
	t.Helper()
	return env.Login(username, password)
}

func sdk(env *apptest.Env, key string) *openai.Client {
	c := client(env, key)
	return &c
}
