package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/config"
)

// guardBaseURLs turns GUARD_CHANNEL_BASE_URLS on, with allow as ALLOW_PRIVATE_OUTBOUND.
func guardBaseURLs(allow string) apptest.Option {
	return apptest.WithConfig(func(c *config.Config) { c.GuardChannelBaseURLs, c.AllowPrivateOutbound = true, allow })
}

// TestChannelBaseURLsRefused: with GUARD_CHANNEL_BASE_URLS on, a channel base URL on each
// non-public address (with and without userinfo) is refused when a channel is created or changed,
// with a 422 in the contract's shape that names the field and never repeats the credentials. A
// host that does not resolve now is accepted (it is checked again when dialled).
func TestChannelBaseURLsRefused(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, guardBaseURLs(""))
	status, body := sendJSON(t, env, http.MethodPost, "/api/channels", env.AdminToken,
		`{"name":"public","type":"openai","base_url":"https://upstream.invalid/v1","models":["gpt-4o"]}`)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	id := gjson.GetBytes(body, "id").Int()
	for i, host := range refusedHosts {
		for _, raw := range []string{"http://" + host + "/v1", "https://user:pw@" + host + "/v1"} {
			for _, c := range []struct{ method, path, body string }{
				{http.MethodPost, "/api/channels", fmt.Sprintf(`{"name":"private-%d","type":"openai","base_url":%s,"models":["gpt-4o"]}`, i, quote(raw))},
				{http.MethodPut, "/api/channels/" + itoa(id), fmt.Sprintf(`{"base_url":%s}`, quote(raw))},
			} {
				status, body := sendJSON(t, env, c.method, c.path, env.AdminToken, c.body)
				require.Equal(t, http.StatusUnprocessableEntity, status, "%s %s base_url=%s: %s", c.method, c.path, raw, body)
				msg := gjson.GetBytes(body, "detail.error").String()
				require.True(t, strings.HasPrefix(msg, "base_url: ") && strings.Contains(msg, "not a public address"),
					"the refusal names the field and the reason: %s", body)
				require.NotContains(t, string(body), "user:pw", "a refusal never repeats credentials")
			}
		}
	}
	res, err := env.Admin().ChannelGetWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "https://upstream.invalid/v1", res.JSON200.BaseUrl, "no refused change was stored")
}

// TestChannelBaseURLDialGuard: a channel base URL saved while its host was public and that now
// points at a loopback address (DNS rebinding; simulated by writing the address into the database
// past the save-time check) is refused when dialled with GUARD_CHANNEL_BASE_URLS on: the call
// fails in the caller's shape and nothing connects to the address, by number or by a name that
// resolves to it. Off (the default, every other test) or with ALLOW_PRIVATE_OUTBOUND naming the
// range, the same base URL is called.
func TestChannelBaseURLDialGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opt      apptest.Option
		host     string
		answered bool
	}{
		{name: "guarded/address", opt: guardBaseURLs(""), host: "127.0.0.1"},
		{name: "guarded/name", opt: guardBaseURLs(""), host: "localhost"},
		{name: "guarded-allowed", opt: guardBaseURLs("127.0.0.0/8"), host: "127.0.0.1", answered: true},
		{name: "unguarded", opt: apptest.WithConfig(func(*config.Config) {}), host: "127.0.0.1", answered: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t, tc.opt)
			status, body := sendJSON(t, env, http.MethodPost, "/api/channels", env.AdminToken,
				`{"name":"rebinding","type":"openai","base_url":"https://upstream.invalid/v1","models":["`+faultModel+`"]}`)
			require.Equal(t, http.StatusCreated, status, "%s", body)
			ch := gjson.GetBytes(body, "id").Int()
			status, body = sendJSON(t, env, http.MethodPost, "/api/channels/"+itoa(ch)+"/accounts", env.AdminToken, `{"credential":"sk-upstream-rebind-0001"}`)
			require.Equal(t, http.StatusCreated, status, "%s", body)
			env.Price(faultModel, 3_000_000, 7_000_000)
			f := &faultEnv{env: env, user: env.NewUser("rebind-user", 100_000_000)}

			target := newConnCounter(t)
			_, port, _ := strings.Cut(target.addr(), ":")
			_, err := env.App.Pool.Exec(context.Background(), "UPDATE channels SET base_url = $1 WHERE id = $2",
				"http://"+tc.host+":"+port+"/v1", ch)
			require.NoError(t, err)
			env.App.Bus.Publish(context.Background(), bus.TopicRoutes, "")
			status, body = f.call(t, callers[0], false)
			before := target.sentinel(t)
			if tc.answered {
				require.Positive(t, before, "the base URL was dialled (status %d: %s)", status, body)
				return
			}
			require.GreaterOrEqual(t, status, 500, "%s", body)
			require.NotEmpty(t, callers[0].errorMessage(body), "an error in the caller's shape: %s", body)
			require.Zero(t, before, "nothing connected to the private base URL")
		})
	}
}
