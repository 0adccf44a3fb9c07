package hook_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/hookserver"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/testdb"
)

var secret = []byte("hook-secret-for-tests")

func newReceiver(t *testing.T, cfg hookserver.Config) *apptest.HookReceiver {
	t.Helper()
	return apptest.NewHookReceiver(t, cfg)
}

func refConfig() hookserver.Config {
	limits, _ := hookserver.ParseLimits("gpt-4o=2/1h,gpt-4o-mini=DISABLED")
	return hookserver.Config{Secret: secret, LoginTokens: map[string]string{"good-token": "pro"}, ShareToken: "fastgpt",
		BlockedWords: []string{"你"}, Limits: limits}
}

type bundle struct {
	pool *pgxpool.Pool
	box  *secretbox.Box
	urls atomic.Pointer[hook.URLs]
}

func setup(t *testing.T) *bundle {
	t.Helper()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return &bundle{pool: testdb.New(t), box: box}
}

// service makes a hook service on the bundle's database; the bundle's URLs are read on every call.
func (b *bundle) service(t *testing.T, mod func(*hook.Config)) *hook.Service {
	t.Helper()
	guard, err := netguard.New("127.0.0.0/8")
	require.NoError(t, err)
	cfg := hook.Config{URLs: func() hook.URLs { return *b.urls.Load() }, Timeout: 500 * time.Millisecond,
		Secret: secret, Guard: guard, CarID: "car-1", NodeType: "pro", PlanType: "3",
		RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Poll: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	if b.urls.Load() == nil {
		b.urls.Store(&hook.URLs{})
	}
	return hook.New(cfg, b.pool, db.New(), b.box, slog.New(slog.DiscardHandler))
}

var requests atomic.Int64

// call is a chat call with a fresh request id, made with the API key sk-caller by user 5.
func call(model, text string) hook.Call {
	body := `{"model":"` + model + `","messages":[{"role":"system","content":"be terse"},` +
		`{"role":"user","content":[{"type":"text","text":"` + text + `"},{"type":"image_url","image_url":{"url":"x"}}]}]}`
	return hook.Call{RequestID: fmt.Sprintf("req-%d", requests.Add(1)), Token: "sk-caller", UserID: 5, AccountID: 17,
		Model: model, Body: []byte(body), At: time.Unix(1704067200, 123e6)}
}

// sha is the SHA-256 of s in hex: what the hooks receive for a credential by default.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	s := b.service(t, nil)
	ctx := context.Background()

	_, err := s.Login(ctx, "good-token")
	require.ErrorIs(t, err, hook.ErrLoginOff, "no OAUTH_URL: local sign-in applies")

	b.urls.Store(&hook.URLs{OAuth: r.URL + "/oauth"})
	d, err := s.Login(ctx, "good-token")
	require.NoError(t, err)
	require.Equal(t, hook.Decision{OK: true, Msg: "success", Grant: "pro"}, d)

	d, err = s.Login(ctx, "bad-token")
	require.NoError(t, err)
	require.Equal(t, hook.Decision{OK: false, Msg: "token not recognised"}, d)

	// The configured URL is called exactly, whatever its path: a path the receiver does not
	// serve refuses the sign-in.
	b.urls.Store(&hook.URLs{OAuth: r.URL + "/elsewhere"})
	d, err = s.Login(ctx, "good-token")
	require.NoError(t, err)
	require.False(t, d.OK)
}

func TestAuditPassAndBlock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	s := b.service(t, nil)
	b.urls.Store(&hook.URLs{Audit: r.URL + "/audit_limit"})
	ctx := context.Background()

	require.NoError(t, s.Audit(ctx, call("gpt-4o", "hello")))
	ev := r.Ref.Audits()[0]
	require.Equal(t, "next", string(ev.Action))
	require.Equal(t, "gpt-4o", ev.Model)
	require.Equal(t, sha("sk-caller"), ev.UserToken, "no Poolgate secret leaves it")
	require.NotContains(t, ev.UserToken, "sk-")
	require.Equal(t, "17", ev.CarId)
	require.Len(t, ev.Messages, 2)
	require.Equal(t, "system", string(ev.Messages[0].Author.Role))
	require.Equal(t, []string{"be terse"}, ev.Messages[0].Content.Parts)
	require.Equal(t, []string{"hello"}, ev.Messages[1].Content.Parts, "text parts only")
	require.Equal(t, "text", string(ev.Messages[1].Content.ContentType))
	require.InDelta(t, 1704067200.123, *ev.Messages[1].CreateTime, 0.0005)
	require.NotEmpty(t, ev.Messages[1].Id)
	require.NotNil(t, ev.RawMessage)
	require.Equal(t, "gpt-4o", (*ev.RawMessage)["model"])

	require.NoError(t, s.Audit(ctx, call("gpt-4o", "again")))
	err := s.Audit(ctx, call("gpt-4o", "third"))
	var blocked *hook.Blocked
	require.ErrorAs(t, err, &blocked)
	require.Equal(t, http.StatusTooManyRequests, blocked.Status)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(blocked.Message), &body), "the hook's body is the message")
	require.Equal(t, "model_cap_exceeded", body["error"])
	require.Positive(t, body["clears_in"])

	err = s.Audit(ctx, call("gpt-4o-mini", "hi"))
	require.ErrorAs(t, err, &blocked)
	require.Equal(t, http.StatusForbidden, blocked.Status)
	require.Contains(t, blocked.Message, "model_disabled")

	err = s.Audit(ctx, call("other", "你好"))
	require.ErrorAs(t, err, &blocked)
	require.Equal(t, http.StatusForbidden, blocked.Status)
	require.Contains(t, blocked.Message, "content_refused")

	b.urls.Store(&hook.URLs{})
	require.NoError(t, s.Audit(ctx, call("gpt-4o-mini", "hi")), "no AUDIT_LIMIT_URL: no audit")
}

func TestAuditFailurePolicy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	b.urls.Store(&hook.URLs{Audit: r.URL + "/audit_limit"})
	closed := b.service(t, nil)
	open := b.service(t, func(c *hook.Config) { c.FailOpen = true })
	ctx := context.Background()

	r.Slow.Store(true) // answers after the 500 ms timeout
	err := closed.Audit(ctx, call("gpt-4o", "hello"))
	require.True(t, fault.Is(err, fault.Unavailable), "fail-closed: %v", err)
	require.NoError(t, open.Audit(ctx, call("gpt-4o", "hello")), "fail-open")

	r.Slow.Store(false)
	r.Down.Store(true) // 503: the hook failed, not a verdict
	require.True(t, fault.Is(closed.Audit(ctx, call("gpt-4o", "hello")), fault.Unavailable))
	require.NoError(t, open.Audit(ctx, call("gpt-4o", "hello")))

	r.Close() // unreachable
	require.True(t, fault.Is(closed.Audit(ctx, call("gpt-4o", "hello")), fault.Unavailable))
	require.NoError(t, open.Audit(ctx, call("gpt-4o", "hello")))
}

// TestSignatureOverHTTP: the reference server refuses requests signed with another secret or
// unsigned, and takes those signed with its own.
func TestSignatureOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	b.urls.Store(&hook.URLs{OAuth: r.URL + "/oauth", Audit: r.URL + "/audit_limit"})
	ctx := context.Background()
	for _, sec := range [][]byte{[]byte("wrong-secret"), nil} {
		s := b.service(t, func(c *hook.Config) { c.Secret = sec })
		d, err := s.Login(ctx, "good-token")
		require.NoError(t, err)
		require.Equal(t, hook.Decision{Msg: "invalid signature"}, d, "a plain-text refusal is shown as is")
		var blocked *hook.Blocked
		require.ErrorAs(t, s.Audit(ctx, call("x", "hi")), &blocked)
		require.Equal(t, http.StatusUnauthorized, blocked.Status)
		require.Equal(t, "invalid signature", blocked.Message)
	}
	d, err := b.service(t, nil).Login(ctx, "good-token")
	require.NoError(t, err)
	require.True(t, d.OK)
}

func TestShareAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	s := b.service(t, nil)
	ctx := context.Background()

	v, err := s.ShareInit(ctx, r.URL, "fastgpt")
	require.NoError(t, err)
	require.Equal(t, hook.Verdict{OK: true}, v)
	v, err = s.ShareInit(ctx, r.URL, "intruder")
	require.NoError(t, err)
	require.Equal(t, hook.Verdict{Message: "身份错误"}, v)
	v, err = s.ShareStart(ctx, r.URL, "fastgpt", "导演是谁")
	require.NoError(t, err)
	require.True(t, v.OK)
	v, err = s.ShareStart(ctx, r.URL, "fastgpt", "你是谁")
	require.NoError(t, err)
	require.Equal(t, hook.Verdict{Message: "内容不合规"}, v)

	r.Close()
	_, err = s.ShareStart(ctx, r.URL, "fastgpt", "导演是谁")
	require.True(t, fault.Is(err, fault.Unavailable))
}

// TestNotifySurvivesRestart queues a notification on one instance while the receiver is down,
// closes that instance, starts another on the same database, brings the receiver up, and sees the
// notification delivered, signed, exactly as queued.
func TestNotifySurvivesRestart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	r.Down.Store(true)
	b.urls.Store(&hook.URLs{Notify: r.URL + "/notify"})
	ctx := context.Background()
	q := db.New()

	first := b.service(t, nil)
	rctx, cancel := context.WithCancel(ctx)
	first.Run(rctx)
	first.Notify(call("gpt-4o", "hello"), hook.Result{PromptTokens: 3, CompletionTokens: 4, Quota: 9})
	require.Eventually(t, func() bool { // written, and failing against the down receiver
		var attempts int32
		_ = b.pool.QueryRow(ctx, "SELECT coalesce(max(attempts), 0) FROM hook_outbox").Scan(&attempts)
		return attempts >= 2
	}, 5*time.Second, 10*time.Millisecond)
	first.Close()
	cancel()
	n, err := q.HookOutboxCount(ctx, b.pool)
	require.NoError(t, err)
	require.EqualValues(t, 1, n.Pending)
	require.Empty(t, r.Ref.Received())

	second := b.service(t, nil)
	sctx, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	second.Run(sctx)
	defer second.Close()
	r.Down.Store(false)
	require.Eventually(t, func() bool { return len(r.Ref.Received()) == 1 }, 5*time.Second, 10*time.Millisecond)
	got := r.Ref.Received()[0]
	require.Equal(t, "notify", got.Kind)
	require.Equal(t, sha("sk-caller"), got.Token, "Authorization: Bearer {userToken}")
	require.Equal(t, "17", got.CarID, "Carid header")
	require.Equal(t, "gpt-4o", got.Notify.Model)
	require.Equal(t, []string{"hello"}, got.Notify.Messages[1].Content.Parts)
	require.Eventually(t, func() bool {
		n, err := q.HookOutboxCount(ctx, b.pool)
		return err == nil && n.Pending == 0 && n.Dead == 0
	}, 5*time.Second, 10*time.Millisecond)
}

// TestNotifyOnce runs two instances on one outbox: each notification is delivered once.
func TestNotifyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newReceiver(t, refConfig())
	b.urls.Store(&hook.URLs{Notify: r.URL + "/notify"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, c := b.service(t, nil), b.service(t, nil)
	a.Run(ctx)
	c.Run(ctx)
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = c
		}
		s.Notify(call("gpt-4o", "hello"), hook.Result{})
	}
	require.Eventually(t, func() bool { return len(r.Ref.Received()) >= 40 }, 10*time.Second, 10*time.Millisecond)
	a.Close()
	c.Close()
	require.Len(t, r.Ref.Received(), 40)
	ids := map[string]bool{}
	for _, rc := range r.Ref.Received() {
		ids[rc.Notify.Messages[0].Id] = true
	}
	require.Len(t, ids, 40)
}

func TestNotifyOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.service(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s.Run(ctx)
	s.Notify(call("gpt-4o", "hello"), hook.Result{})
	s.Close()
	cancel()
	n, err := db.New().HookOutboxCount(context.Background(), b.pool)
	require.NoError(t, err)
	require.Zero(t, n.Pending+n.Dead, "no NOTIFY_URL: nothing queued")
}
