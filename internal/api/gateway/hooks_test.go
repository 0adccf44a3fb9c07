package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/hookserver"
)

func hookPolicy() hookserver.Config {
	limits, _ := hookserver.ParseLimits(model + "=1/1h,gpt-4o=DISABLED")
	return hookserver.Config{LoginTokens: map[string]string{}, ShareToken: "fastgpt", BlockedWords: []string{"你"}, Limits: limits}
}

// setHooks changes the hook URLs at run time through PUT /api/settings.
func setHooks(t *testing.T, env *apptest.Env, upd adminclient.SettingsUpdate) {
	t.Helper()
	res, err := env.Admin().SettingsUpdateWithResponse(context.Background(), upd)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}

func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	require.True(t, errors.As(err, &e), "want an API error, got %v", err)
	return e
}

// TestAuditHook: the audit sees the seed's body and headers before any upstream; a 429 from the
// hook reaches the OpenAI SDK as a 429 with the hook's body as the message, uncharged; a 403
// stays 403; the notify hook hears of the successful call.
func TestAuditHook(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookPolicy())
	b := setup(t, apptest.HookConfig(2*time.Second, false))
	setHooks(t, b.env, adminclient.SettingsUpdate{AuditLimitUrl: strp(recv.URL + "/audit_limit"), NotifyUrl: strp(recv.URL + "/notify")})
	ctx := context.Background()

	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "first", Usage: &fakeupstream.Usage{PromptTokens: 2, CompletionTokens: 3}})
	res, err := b.sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err)
	require.Equal(t, "first", res.Choices[0].Message.Content)
	audits := recv.Ref.Audits()
	require.Len(t, audits, 1)
	ev := audits[0]
	require.Equal(t, "next", string(ev.Action))
	require.Equal(t, model, ev.Model)
	require.Equal(t, sha(b.user.Key), ev.UserToken, "userToken: by default the SHA-256 of the caller's key, never the key")
	_, err = strconv.ParseInt(ev.CarId, 10, 64)
	require.NoError(t, err, "carId is the account id")
	require.Len(t, ev.Messages, 2)
	require.Equal(t, []string{"say hello"}, ev.Messages[1].Content.Parts)
	require.Equal(t, "user", string(ev.Messages[1].Author.Role))
	require.NotNil(t, ev.RawMessage)

	// The limit (1 per hour) is reached: 429 in OpenAI's shape, nothing sent upstream.
	before := b.env.Upstream.Count()
	_, err = b.sdk.Chat.Completions.New(ctx, params())
	e := apiError(t, err)
	require.Equal(t, http.StatusTooManyRequests, e.StatusCode)
	require.Equal(t, "model_cap_exceeded", e.Code)
	var hookBody map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.Message), &hookBody), "the message is the hook's body: %s", e.Message)
	require.Equal(t, "model_cap_exceeded", hookBody["error"])
	require.NotEmpty(t, e.Response.Header.Get("Retry-After"))
	require.Equal(t, before, b.env.Upstream.Count(), "a blocked call never reaches an upstream")

	// A disabled model: 403 stays 403.
	b.env.Price("gpt-4o", inPrice, outPrice)
	p := params()
	p.Model = "gpt-4o"
	_, err = b.sdk.Chat.Completions.New(ctx, p)
	e = apiError(t, err)
	require.Equal(t, http.StatusForbidden, e.StatusCode)
	require.Equal(t, "model_disabled", e.Code)

	// Only the successful call is charged and notified.
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 3)
	charged := 0
	for _, l := range ls {
		if l.Quota > 0 {
			charged++
			require.Equal(t, http.StatusOK, l.StatusCode)
		}
	}
	require.Equal(t, 1, charged)
	require.Eventually(t, func() bool { return len(recv.Ref.Received()) == 1 }, 10*time.Second, 20*time.Millisecond)
	n := recv.Ref.Received()[0]
	require.Equal(t, "notify", n.Kind)
	require.Equal(t, sha(b.user.Key), n.Token)
	require.Equal(t, ev.CarId, n.CarID)
	require.Equal(t, model, n.Notify.Model)

	// Blocked calls are not notified. The signal: a later successful call (another user's, under
	// its own limit) is notified. The outbox is written in queue order, a batch per statement, so
	// once that notification arrived every one queued before it is in the outbox too.
	other := b.env.NewUser("bob", 1_000_000)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "marker", Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 1}})
	otherSDK := client(b.env, other.Key)
	_, err = otherSDK.Chat.Completions.New(ctx, params())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(recv.Ref.Received()) >= 2 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, sha(other.Key), recv.Ref.Received()[1].Token, "the next notification is the marker's")
	dl, err := b.env.Admin().HookDeliveryListWithResponse(ctx, &adminclient.HookDeliveryListParams{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, dl.StatusCode(), string(dl.Body))
	require.Len(t, dl.JSON200.Items, 2, "blocked calls are not notified")
	require.Len(t, recv.Ref.Received(), 2, "blocked calls are not notified")
}

// TestAuditFailurePolicy: a hook that does not answer in HOOK_TIMEOUT blocks the call with 503
// (fail-closed) or lets it through (fail-open).
func TestAuditFailurePolicy(t *testing.T) {
	t.Parallel()
	for _, failOpen := range []bool{false, true} {
		t.Run("fail_open="+strconv.FormatBool(failOpen), func(t *testing.T) {
			t.Parallel()
			recv := apptest.NewHookReceiver(t, hookPolicy())
			recv.Slow.Store(true)
			b := setup(t, apptest.HookConfig(200*time.Millisecond, failOpen))
			setHooks(t, b.env, adminclient.SettingsUpdate{AuditLimitUrl: strp(recv.URL + "/audit_limit")})
			b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "through", Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 1}})
			res, err := b.sdk.Chat.Completions.New(context.Background(), params())
			if failOpen {
				require.NoError(t, err)
				require.Equal(t, "through", res.Choices[0].Message.Content)
				return
			}
			e := apiError(t, err)
			require.Equal(t, http.StatusServiceUnavailable, e.StatusCode)
			require.Zero(t, b.env.Upstream.Count())
		})
	}
}

// TestHookURLsAtRunTime: hook URLs set through the settings on one instance apply on another at
// once, and clearing them turns the hooks off.
func TestHookURLsAtRunTime(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookPolicy())
	b := setup(t, apptest.HookConfig(2*time.Second, false))
	other := apptest.New(t, apptest.Sharing(b.env), apptest.HookConfig(2*time.Second, false))
	sdk := client(other, b.user.Key)
	ctx := context.Background()
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "no audit yet"})
	_, err := sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err)
	require.Empty(t, recv.Ref.Audits())

	setHooks(t, b.env, adminclient.SettingsUpdate{AuditLimitUrl: strp(recv.URL + "/audit_limit")})
	require.Eventually(t, func() bool {
		got, err := other.Admin().SettingsGetWithResponse(ctx)
		return err == nil && got.JSON200.AuditLimitUrl == recv.URL+"/audit_limit"
	}, 5*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok"})
		_, err := sdk.Chat.Completions.New(ctx, params())
		return err != nil && statusOf(err) == http.StatusTooManyRequests // the second audited call is over 1/1h
	}, 5*time.Second, 20*time.Millisecond, "the second instance audits")

	setHooks(t, b.env, adminclient.SettingsUpdate{AuditLimitUrl: strp("")})
	require.Eventually(t, func() bool {
		b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "ok"})
		_, err := sdk.Chat.Completions.New(ctx, params())
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "an empty URL turns the audit off everywhere")

	// A hook URL on a private address not allowed by ALLOW_PRIVATE_OUTBOUND is refused.
	bad, err := b.env.Admin().SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{NotifyUrl: strp("http://10.1.2.3/notify")})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode(), string(bad.Body))
}

func strp(s string) *string { return &s }
