package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestHookUserToken: HOOK_USER_TOKEN decides what the audit and notify hooks receive as
// userToken and bearer token: the API key (default, seed 000), its SHA-256 in hex, or the user id.
func TestHookUserToken(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"", "key", "hash", "user_id"} {
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
			want := b.user.Key
			switch mode {
			case "hash":
				sum := sha256.Sum256([]byte(b.user.Key))
				want = hex.EncodeToString(sum[:])
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
			if mode == "hash" || mode == "user_id" {
				require.NotContains(t, n.Notify.UserToken, b.user.Key)
			}
		})
	}
}
