package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// sha is the SHA-256 of s in hex.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestHookUserToken: HOOK_USER_TOKEN decides what the audit and notify hooks receive as
// userToken and bearer token. By default (login) no Poolgate-issued secret leaves: a key user is
// identified by the SHA-256 of the key; `key` opts into sending the key itself.
func TestHookUserToken(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"", "login", "key", "hash", "user_id"} {
		t.Run("mode_"+mode, func(t *testing.T) {
			t.Parallel()
			recv := apptest.NewHookReceiver(t, hookPolicy())
			b := setup(t, apptest.WithoutRedis(), apptest.WithConfig(func(c *config.Config) {
				c.AllowPrivateOutbound, c.HookSecret, c.HookTimeout = "127.0.0.0/8", apptest.HookSecret, 2*time.Second
				if mode != "" {
					c.HookUserToken = mode
				}
			}))
			setHooks(t, b.env, adminclient.SettingsUpdate{AuditLimitUrl: strp(recv.URL + "/audit_limit"), NotifyUrl: strp(recv.URL + "/notify")})
			want := sha(b.user.Key)
			switch mode {
			case "key":
				want = b.user.Key
			case "user_id":
				want = strconv.FormatInt(b.user.ID, 10)
			}

			b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "hello"})
			_, err := b.sdk.Chat.Completions.New(context.Background(), params())
			require.NoError(t, err)
			audits := recv.Ref.Audits()
			require.Len(t, audits, 1)
			require.Equal(t, want, audits[0].UserToken)
			require.Eventually(t, func() bool { return len(recv.Ref.Received()) == 1 }, 10*time.Second, 20*time.Millisecond)
			n := recv.Ref.Received()[0]
			require.Equal(t, "notify", n.Kind)
			require.Equal(t, want, n.Token, "the bearer token follows the mode")
			require.Equal(t, want, n.Notify.UserToken)
			if mode != "key" {
				require.NotContains(t, n.Notify.UserToken, "sk-", "no Poolgate secret is sent to a third party")
			}
		})
	}
}

// TestHookUserTokenFromLogin: a user who signed in with a token the hook server issued (through
// OAUTH_URL and /logintoken) is identified to the audit and notify hooks by that token, whatever
// Poolgate credential the call is made with.
func TestHookUserTokenFromLogin(t *testing.T) {
	t.Parallel()
	policy := hookPolicy()
	policy.LoginTokens = map[string]string{"alice-hook-token": "pro"}
	recv := apptest.NewHookReceiver(t, policy)
	b := setup(t, apptest.WithoutRedis(), apptest.WithConfig(func(c *config.Config) {
		c.AllowPrivateOutbound, c.HookSecret, c.HookTimeout = "127.0.0.0/8", apptest.HookSecret, 2*time.Second
	}))
	balance := int64(1_000_000)
	setHooks(t, b.env, adminclient.SettingsUpdate{OauthUrl: strp(recv.URL + "/oauth"),
		AuditLimitUrl: strp(recv.URL + "/audit_limit"), NotifyUrl: strp(recv.URL + "/notify"), NewUserBalance: &balance})

	// Sign in with the hook's token, then make an API key with the session.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	res, err := browser.Get(b.env.URL + "/logintoken?access_token=alice-hook-token") //nolint:noctx // test
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "landed on /app")
	u, err := userclient.NewClientWithResponses(b.env.URL, userclient.WithHTTPClient(browser))
	require.NoError(t, err)
	k, err := u.ApiKeyCreateWithResponse(context.Background(), userclient.ApiKeyCreateRequest{Name: "cli"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, k.StatusCode(), string(k.Body))
	require.True(t, strings.HasPrefix(k.JSON201.Key, "sk-"))

	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "hello"})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.env.URL+"/v1/chat/completions",
		strings.NewReader(`{"model": "`+model+`", "messages": [{"role": "user", "content": "hi"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+k.JSON201.Key)
	req.Header.Set("Content-Type", "application/json")
	ans, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = ans.Body.Close()
	require.Equal(t, http.StatusOK, ans.StatusCode)
	require.Equal(t, "alice-hook-token", recv.Ref.Audits()[0].UserToken, "the token the hook issued, not the sk- key")
	require.Eventually(t, func() bool { return len(recv.Ref.Received()) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "alice-hook-token", recv.Ref.Received()[0].Token)
}
