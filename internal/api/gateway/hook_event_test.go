package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestHookEventsThroughGateway: through the real gateway, the audit of a Responses call has its
// conversation (instructions and input become messages), every field of seed 000's example, and
// the notify of the same call has the same request id (the caller's X-Request-Id) and message
// ids, with the call's usage and charge.
func TestHookEventsThroughGateway(t *testing.T) {
	t.Parallel()
	recv := apptest.NewHookReceiver(t, hookPolicy())
	b := setup(t, apptest.HookConfig(2*time.Second, false))
	setHooks(t, b.env, adminclient.SettingsUpdate{AuditLimitUrl: strp(recv.URL + "/audit_limit"), NotifyUrl: strp(recv.URL + "/notify")})
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "hi there", Usage: &fakeupstream.Usage{PromptTokens: 12, CompletionTokens: 3}})

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.env.URL+"/v1/responses",
		strings.NewReader(`{"model": "`+model+`", "instructions": "be brief", "input": "hello", "timezone": "Asia/Shanghai"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.user.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	rid := res.Header.Get("X-Request-Id")
	require.NotEmpty(t, rid)

	audit := recv.Ref.Audits()[0]
	require.Len(t, audit.Messages, 2, "instructions and input are messages")
	require.Equal(t, "system", string(audit.Messages[0].Author.Role))
	require.Equal(t, []string{"be brief"}, audit.Messages[0].Content.Parts)
	require.Equal(t, []string{"hello"}, audit.Messages[1].Content.Parts)
	require.Equal(t, rid, audit.RequestId)
	require.Equal(t, audit.Messages[0].Id, *audit.ParentMessageId)
	require.Equal(t, "Asia/Shanghai", *audit.Timezone)
	require.Equal(t, -480, *audit.TimezoneOffsetMin)
	require.NotNil(t, audit.ConversationMode)

	require.Eventually(t, func() bool { return len(recv.Ref.Received()) == 1 }, 10*time.Second, 20*time.Millisecond)
	n := recv.Ref.Received()[0].Notify
	require.Equal(t, rid, n.RequestId)
	require.Equal(t, audit.Messages[0].Id, n.Messages[0].Id, "the same message ids in the audit and the notify")
	require.Equal(t, audit.Messages[1].Id, n.Messages[1].Id)
	require.NotNil(t, n.Usage)
	require.EqualValues(t, 12, n.Usage.InputTokens)
	require.EqualValues(t, 3, n.Usage.OutputTokens)
	require.EqualValues(t, 12*3+3*7, *n.Charge)
}
