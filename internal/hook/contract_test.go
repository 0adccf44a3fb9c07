package hook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/hooksig"
)

// captured is one request a capture server received, byte for byte.
type captured struct {
	Method, Target string
	Header         http.Header
	Body           []byte
}

// capture is a third party that records what it receives and answers as told.
type capture struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []captured
	// status, contentType and body are the answer ("" content type: none at all).
	status      int
	contentType string
	body        string
}

func newCapture(t *testing.T) *capture {
	t.Helper()
	c := &capture{status: http.StatusOK, body: "ok"}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.got = append(c.got, captured{Method: r.Method, Target: r.URL.RequestURI(), Header: r.Header.Clone(), Body: b})
		status, ct, body := c.status, c.contentType, c.body
		c.mu.Unlock()
		w.Header()["Content-Type"] = nil // no sniffed type: the answer has exactly what is set
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) answer(status int, contentType, body string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status, c.contentType, c.body = status, contentType, body
}

func (c *capture) requests() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.got...)
}

// TestLoginAnswersAnyContentType: the login check's JSON is read whatever the Content-Type a plain
// script sends, and a refusal shows the hook's own msg.
func TestLoginAnswersAnyContentType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	b.urls.Store(&hook.URLs{OAuth: c.srv.URL + "/oauth.php"})
	s := b.service(t, nil)
	ctx := context.Background()
	for _, tt := range []struct {
		status   int
		ct, body string
		want     hook.Decision
	}{
		{200, "text/plain", `{"code": 1, "msg": "success", "grant": "pro"}`, hook.Decision{OK: true, Msg: "success", Grant: "pro"}},
		{200, "", `{"code": 1}`, hook.Decision{OK: true}},
		{200, "text/html; charset=utf-8", "\ufeff{\"code\": \"1\", \"grant\": \"ultra\"}\n", hook.Decision{OK: true, Grant: "ultra"}},
		{200, "text/plain", `{"code": 0, "msg": "余额不足,请充值"}`, hook.Decision{Msg: "余额不足,请充值"}},
		{200, "application/json", `{"code": -1, "message": "token expired"}`, hook.Decision{Msg: "token expired"}},
		{200, "text/plain", `{"code": 0}`, hook.Decision{Msg: "sign-in refused"}},
		{403, "text/plain", `{"code": 0, "msg": "banned"}`, hook.Decision{Msg: "banned"}},
		{401, "text/plain", "token not recognised", hook.Decision{Msg: "token not recognised"}},
		{200, "text/plain", `{"code": 1, "grant": "gold"}`, hook.Decision{OK: true}},
		{500, "text/plain", "<html>stack trace</html>", hook.Decision{Msg: "the login service refused the request"}},
		{200, "text/plain", "not json", hook.Decision{Msg: "the login service refused the request"}},
	} {
		c.answer(tt.status, tt.ct, tt.body)
		d, err := s.Login(ctx, "user-token-123")
		require.NoError(t, err)
		require.Equal(t, tt.want, d, "%d %q %s", tt.status, tt.ct, tt.body)
	}
	got := c.requests()[0]
	require.JSONEq(t, `{"usertoken": "user-token-123", "carid": "car-1", "nodeType": "pro", "planType": "3"}`, string(got.Body))
	require.NoError(t, hooksig.Verify(secret, hooksig.Of(&http.Request{Method: got.Method, Header: got.Header,
		URL: mustURL(t, got.Target)}, got.Body), got.Header.Get(hooksig.Header), time.Now()))
}

// TestShareVerdictAnyContentType: shareAuth answers are read whatever their Content-Type.
func TestShareVerdictAnyContentType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	s := b.service(t, nil)
	for _, tt := range []struct {
		status   int
		ct, body string
		want     hook.Verdict
	}{
		{200, "text/plain", `{"success": true}`, hook.Verdict{OK: true}},
		{200, "", `{"success": "true"}`, hook.Verdict{OK: true}},
		{200, "text/plain", `{"success": false, "msg": "身份错误"}`, hook.Verdict{Message: "身份错误"}},
		{200, "text/plain", `{"success": false, "message": "分享链接无效", "msg": "x"}`, hook.Verdict{Message: "分享链接无效"}},
		{500, "application/json", `{"success": true}`, hook.Verdict{Message: "the share link refused the request"}},
		{200, "text/plain", `<html>`, hook.Verdict{Message: "the share link's credential check failed"}},
	} {
		c.answer(tt.status, tt.ct, tt.body)
		v, err := s.ShareStart(context.Background(), c.srv.URL, "fastgpt", "导演是谁")
		require.NoError(t, err)
		require.Equal(t, tt.want, v, "%d %q %s", tt.status, tt.ct, tt.body)
	}
}

// TestAuditBody: the audit body carries every field of seed 000's example, filled from the
// caller's body where it sent them, with sensible values otherwise, and never empty messages.
func TestAuditBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	b.urls.Store(&hook.URLs{Audit: c.srv.URL + "/audit_limit"})
	s := b.service(t, nil)
	ctx := context.Background()
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	audit := func(body string) map[string]any {
		t.Helper()
		n := len(c.requests())
		require.NoError(t, s.Audit(ctx, hook.Call{RequestID: "req-audit-body", Token: "sk-x", Model: "m", Body: []byte(body), At: at}))
		var ev map[string]any
		require.NoError(t, json.Unmarshal(c.requests()[n].Body, &ev))
		for _, k := range []string{"action", "messages", "parent_message_id", "model", "timezone_offset_min", "timezone",
			"conversation_mode", "userToken", "carId", "request_id"} {
			require.Contains(t, ev, k, "every field of the seed's example")
		}
		return ev
	}
	texts := func(ev map[string]any) []string {
		var out []string
		for _, m := range ev["messages"].([]any) {
			mm := m.(map[string]any)
			out = append(out, mm["author"].(map[string]any)["role"].(string)+": "+
				strings.Join(toStrings(mm["content"].(map[string]any)["parts"]), "|"))
		}
		return out
	}

	// Defaults.
	ev := audit(`{"model": "m", "messages": [{"role": "user", "content": "hi"}]}`)
	require.Equal(t, "client-created-root", ev["parent_message_id"])
	require.Equal(t, "UTC", ev["timezone"])
	require.EqualValues(t, 0, ev["timezone_offset_min"])
	require.Equal(t, map[string]any{"kind": "primary_assistant"}, ev["conversation_mode"])
	require.Equal(t, "req-audit-body", ev["request_id"])

	// The parent of the last message is the one before it.
	ev = audit(`{"model": "m", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
		{"role": "user", "content": "c"}]}`)
	msgs := ev["messages"].([]any)
	require.Equal(t, msgs[1].(map[string]any)["id"], ev["parent_message_id"])

	// The caller's own values.
	ev = audit(`{"model": "m", "messages": [{"role": "user", "content": "hi"}], "parent_message_id": "p-1",
		"timezone": "Asia/Shanghai", "conversation_mode": {"kind": "gizmo_interaction", "gizmo_id": "g-1"}}`)
	require.Equal(t, "p-1", ev["parent_message_id"])
	require.Equal(t, "Asia/Shanghai", ev["timezone"])
	require.EqualValues(t, -480, ev["timezone_offset_min"], "UTC minus local time")
	require.Equal(t, map[string]any{"kind": "gizmo_interaction", "gizmo_id": "g-1"}, ev["conversation_mode"])
	ev = audit(`{"model": "m", "messages": [{"role": "user", "content": "hi"}], "timezone": "America/New_York", "timezone_offset_min": 300}`)
	require.EqualValues(t, 300, ev["timezone_offset_min"])

	// Responses input: a string, items, and instructions all become messages.
	ev = audit(`{"model": "m", "input": "hello"}`)
	require.Equal(t, []string{"user: hello"}, texts(ev))
	ev = audit(`{"model": "m", "instructions": "be brief", "input": [
		{"role": "user", "content": [{"type": "input_text", "text": "q1"}, {"type": "input_image", "image_url": "x"}]},
		{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a1"}]},
		{"type": "function_call", "name": "f", "arguments": "{}"},
		{"type": "function_call_output", "call_id": "c", "output": "42"},
		{"role": "developer", "content": "dev note"},
		{"role": "user", "content": "q2"}]}`)
	require.Equal(t, []string{"system: be brief", "user: q1", "assistant: a1", "tool: 42", "system: dev note", "user: q2"}, texts(ev))
	// Claude and Gemini.
	ev = audit(`{"model": "m", "system": [{"type": "text", "text": "sys"}], "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}`)
	require.Equal(t, []string{"system: sys", "user: hi"}, texts(ev))
	ev = audit(`{"systemInstruction": {"parts": [{"text": "sys"}]}, "contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}`)
	require.Equal(t, []string{"system: sys", "user: hi", "assistant: yo"}, texts(ev))
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestAuditBodyBounded: a 9 MiB call does not become a 9 MiB (or 18.9 MB) audit body: the newest
// messages are kept within the bound, the part that crosses it is cut and marked, raw_message is
// left out, and the body says it was truncated.
func TestAuditBodyBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	b.urls.Store(&hook.URLs{Audit: c.srv.URL + "/audit_limit"})
	s := b.service(t, nil)
	big := strings.Repeat("长文本", 3<<20/9) // ~3 MiB of three-byte characters
	var body bytes.Buffer
	body.WriteString(`{"model": "m", "messages": [`)
	for range 3 {
		body.WriteString(`{"role": "user", "content": "` + big + `"},`)
	}
	body.WriteString(`{"role": "user", "content": "the question"}]}`)
	require.Greater(t, body.Len(), 9<<20)
	require.NoError(t, s.Audit(context.Background(), hook.Call{RequestID: "req-big", Token: "sk-x", Model: "m", Body: body.Bytes(), At: time.Now()}))
	sent := c.requests()[0].Body
	require.Less(t, len(sent), 600<<10, "bounded: %d bytes", len(sent))
	var ev struct {
		Messages []struct {
			ID      string                   `json:"id"`
			Content struct{ Parts []string } `json:"content"`
		} `json:"messages"`
		RawMessage json.RawMessage `json:"raw_message"`
		Truncated  bool            `json:"truncated"`
	}
	require.NoError(t, json.Unmarshal(sent, &ev))
	require.True(t, ev.Truncated)
	require.Nil(t, ev.RawMessage, "raw_message left out")
	require.Len(t, ev.Messages, 2, "the newest messages within the bound")
	require.Equal(t, []string{"the question"}, ev.Messages[1].Content.Parts)
	cut := ev.Messages[0].Content.Parts[0]
	require.True(t, strings.HasSuffix(cut, "…[truncated]"))
	require.True(t, strings.HasPrefix(cut, "长文本长文本"), "cut at a character boundary")
}

// TestNotifyMatchesAudit: the audit and the notify of one call carry the same request id and
// message ids; the notify adds the call's usage and charge.
func TestNotifyMatchesAudit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	b.urls.Store(&hook.URLs{Audit: c.srv.URL + "/audit_limit", Notify: c.srv.URL + "/notify"})
	s := b.service(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Run(ctx)
	defer s.Close()
	k := call("gpt-4o", "hello")
	require.NoError(t, s.Audit(ctx, k))
	s.Notify(k, hook.Result{PromptTokens: 1200, CompletionTokens: 300, CachedTokens: 1024, CacheWrite5mTokens: 10,
		CacheWrite1hTokens: 20, ReasoningTokens: 120, Quota: 1250})
	require.Eventually(t, func() bool { return len(c.requests()) == 2 }, 5*time.Second, 10*time.Millisecond)
	var audit, notify map[string]any
	require.NoError(t, json.Unmarshal(c.requests()[0].Body, &audit))
	require.NoError(t, json.Unmarshal(c.requests()[1].Body, &notify))
	require.Equal(t, k.RequestID, audit["request_id"])
	require.Equal(t, audit["request_id"], notify["request_id"])
	require.Equal(t, audit["messages"], notify["messages"], "same messages, same ids")
	require.Equal(t, audit["parent_message_id"], notify["parent_message_id"])
	require.NotContains(t, audit, "usage")
	require.Equal(t, map[string]any{"input_tokens": 1200.0, "output_tokens": 300.0, "cached_tokens": 1024.0,
		"cache_write_5m_tokens": 10.0, "cache_write_1h_tokens": 20.0, "reasoning_tokens": 120.0}, notify["usage"])
	require.EqualValues(t, 1250, notify["charge"])
}

// TestReplayRefused: a notify captured on the wire and replayed to the audit endpoint (or with a
// forged Authorization or Carid, or after the replay window) does not verify at the reference
// server.
func TestReplayRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	b.urls.Store(&hook.URLs{Notify: c.srv.URL + "/notify"})
	s := b.service(t, func(cfg *hook.Config) { cfg.UserToken = hook.UserTokenKey })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Run(ctx)
	defer s.Close()
	s.Notify(call("gpt-4o", "hello"), hook.Result{Quota: 9})
	require.Eventually(t, func() bool { return len(c.requests()) == 1 }, 5*time.Second, 10*time.Millisecond)
	got := c.requests()[0]

	ref := newReceiver(t, refConfig())
	later := refConfig()
	later.Now = func() time.Time { return time.Now().Add(hooksig.MaxSkew + time.Minute) }
	refLater := newReceiver(t, later)
	send := func(path, bearer, carid string, to ...*apptest.HookReceiver) int {
		base := ref.URL
		if len(to) > 0 {
			base = to[0].URL
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(got.Body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", bearer)
		req.Header.Set("Carid", carid)
		req.Header.Set(hooksig.Header, got.Header.Get(hooksig.Header))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		return res.StatusCode
	}
	bearer, carid := got.Header.Get("Authorization"), got.Header.Get("Carid")
	require.Equal(t, "Bearer sk-caller", bearer)
	require.Equal(t, http.StatusOK, send("/notify", bearer, carid), "the genuine request verifies")
	require.Equal(t, http.StatusUnauthorized, send("/audit_limit", bearer, carid), "replayed to another endpoint")
	require.Equal(t, http.StatusUnauthorized, send("/notify", "Bearer sk-someone-else", carid), "forged Authorization")
	require.Equal(t, http.StatusUnauthorized, send("/notify", bearer, "99"), "forged Carid")
	require.Equal(t, http.StatusUnauthorized, send("/notify", bearer, carid, refLater), "replayed after the window")
	require.Empty(t, ref.Ref.Audits(), "nothing reached the audit handler")
}

// TestUserTokenModes: what the audit receives as userToken under each HOOK_USER_TOKEN.
func TestUserTokenModes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	b.urls.Store(&hook.URLs{Audit: c.srv.URL + "/audit_limit"})
	ctx := context.Background()
	// User 7 signed in through the login hook with the hook's token "hook-issued-7".
	var uid int64
	require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO users (username, password_hash, role) VALUES ('tok-user', 'x', 'user') RETURNING id`).Scan(&uid))
	sealed := b.service(t, nil).SealToken("hook-issued-7")
	_, err := b.pool.Exec(ctx, `INSERT INTO token_logins (token_hash, user_id, token_enc) VALUES ('\x01', $1, $2)`, uid, sealed)
	require.NoError(t, err)

	seen := func(mode string, k hook.Call) (string, string) {
		t.Helper()
		s := b.service(t, func(cfg *hook.Config) { cfg.UserToken = mode })
		n := len(c.requests())
		require.NoError(t, s.Audit(ctx, k))
		r := c.requests()[n]
		var ev struct{ UserToken string }
		require.NoError(t, json.Unmarshal(r.Body, &ev))
		return ev.UserToken, r.Header.Get("Authorization")
	}
	hookUser := hook.Call{RequestID: "r1", Token: "sk-poolgate-key", UserID: uid, Model: "m", Body: []byte(`{}`), At: time.Now()}
	keyUser := hook.Call{RequestID: "r2", Token: "sk-poolgate-key", UserID: uid + 1000, Model: "m", Body: []byte(`{}`), At: time.Now()}
	shareCaller := hook.Call{RequestID: "r3", Token: "fastgpt", Share: true, UserID: uid, Model: "m", Body: []byte(`{}`), At: time.Now()}
	for _, tt := range []struct {
		mode string
		k    hook.Call
		want string
	}{
		{hook.UserTokenLogin, hookUser, "hook-issued-7"},
		{hook.UserTokenLogin, keyUser, sha("sk-poolgate-key")},
		{hook.UserTokenLogin, shareCaller, "fastgpt"},
		{"", keyUser, sha("sk-poolgate-key")},
		{hook.UserTokenHash, hookUser, sha("sk-poolgate-key")},
		{hook.UserTokenUserID, hookUser, itoa(uid)},
		{hook.UserTokenKey, hookUser, "sk-poolgate-key"},
		{hook.UserTokenKey, shareCaller, "fastgpt"},
	} {
		tok, auth := seen(tt.mode, tt.k)
		require.Equal(t, tt.want, tok, "%s %s", tt.mode, tt.k.RequestID)
		require.Equal(t, "Bearer "+tt.want, auth)
		if tt.mode != hook.UserTokenKey {
			require.NotContains(t, tok, "sk-", "no Poolgate secret by default")
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func mustURL(t *testing.T, target string) *url.URL {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	require.NoError(t, err)
	return u
}

// TestShareFinishReport: shareAuth/finish as FastGPT reports it: an id to deduplicate on, the
// price on FastGPT's scale from the quota_per_unit setting, completeMessages and an empty
// quoteList.
func TestShareFinishReport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newCapture(t)
	s := b.service(t, func(cfg *hook.Config) { cfg.QuotaPerUnit = func() int64 { return 500000 } })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Run(ctx)
	defer s.Close()
	maxTok := int64(2050)
	body := `{"model": "gpt-4o-mini", "max_tokens": 2050, "messages": [
		{"role": "system", "content": "你仅回答关于电影《玲芽之旅》的问题。"},
		{"role": "user", "content": "导演是谁"}]}`
	s.ShareFinish(hook.ShareReport{Host: c.srv.URL, Token: "fastgpt", RequestID: "req-share-1", Body: []byte(body),
		Question: "导演是谁", Answer: "电影《铃芽之旅》的导演是新海诚。", Model: "gpt-4o-mini", MaxTokens: &maxTok,
		Result: hook.Result{PromptTokens: 250, CompletionTokens: 53, Quota: 2273}})
	require.Eventually(t, func() bool { return len(c.requests()) == 1 }, 5*time.Second, 10*time.Millisecond)
	got := c.requests()[0]
	require.Equal(t, "/shareAuth/finish", got.Target)
	require.JSONEq(t, `{"token": "fastgpt", "id": "req-share-1", "responseData": [{"moduleName": "AI Chat",
		"price": 455, "model": "gpt-4o-mini", "tokens": 303, "question": "导演是谁",
		"answer": "电影《铃芽之旅》的导演是新海诚。", "maxToken": 2050, "quoteList": [],
		"completeMessages": [{"obj": "System", "value": "你仅回答关于电影《玲芽之旅》的问题。"},
			{"obj": "Human", "value": "导演是谁"}, {"obj": "AI", "value": "电影《铃芽之旅》的导演是新海诚。"}]}]}`, string(got.Body))
	require.NoError(t, hooksig.Verify(secret, hooksig.Of(&http.Request{Method: got.Method, Header: got.Header,
		URL: mustURL(t, got.Target)}, got.Body), got.Header.Get(hooksig.Header), time.Now()))
}

// TestSharePrice: FastGPT's scale is the currency amount × 100000, rounded half up, exactly.
func TestSharePrice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ quota, perUnit, want int64 }{
		{500000, 500000, 100000}, // one currency unit
		{2273, 500000, 455},      // 454.6
		{2272, 500000, 454},      // 454.4
		{5, 1000000, 1},          // 0.5 rounds up
		{4, 1000000, 0},
		{0, 500000, 0},
		{-3, 500000, 0},
		{1, 0, 0}, // default 500000: 0.2
		{9_000_000_000_000_000_000 / 10, 1, 1<<63 - 1},
	} {
		require.Equal(t, tt.want, hook.SharePrice(tt.quota, tt.perUnit), "%d at %d", tt.quota, tt.perUnit)
	}
}
