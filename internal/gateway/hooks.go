package gateway

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/httpx"
)

// Hooks are the third-party checks around a call (internal/hook implements them): the audit
// before the first upstream attempt, the notification after a successful call, and the share
// links' credential checks.
type Hooks interface {
	Audit(ctx context.Context, c hook.Call) error
	Notify(c hook.Call, r hook.Result)
	ShareInit(ctx context.Context, host, token string) (hook.Verdict, error)
	ShareStart(ctx context.Context, host, token, question string) (hook.Verdict, error)
	ShareFinish(r hook.ShareReport)
}

// tokenKey holds the caller's credential as the hooks see it (userToken): the API key, or a
// share link's authToken.
const tokenKey = "gateway.token"

func callToken(c echo.Context) string {
	t, _ := c.Get(tokenKey).(string)
	return t
}

// beforeUpstream runs the share link's start check and the audit hook before the first upstream
// attempt; accountID is the account planned first (the audit's carId). When it stops the call
// (stop is true), the caller was answered in its protocol's shape or err is the fault to render,
// and the call is logged uncharged.
func (g *Gateway) beforeUpstream(k *call, accountID int64) (stop bool, err error) {
	l := shareOf(k.c)
	if l != nil && !l.allows(k.req.Model) {
		return true, g.refuse(k, fault.Code(fault.Forbidden, "model_not_allowed", "this share link does not allow model "+k.req.Model))
	}
	if g.d.Hooks == nil || k.ep.op == opCount {
		return false, nil
	}
	ctx := k.c.Request().Context()
	if l != nil && l.authHost != "" {
		v, err := g.d.Hooks.ShareStart(ctx, l.authHost, callToken(k.c), hook.Question(k.raw))
		if err != nil {
			return true, g.refuse(k, err)
		}
		if !v.OK {
			return true, g.refuse(k, fault.Code(fault.Forbidden, "share_auth_refused", v.Message))
		}
	}
	err = g.d.Hooks.Audit(ctx, hook.Call{Token: callToken(k.c), UserID: k.cl.user.id, AccountID: accountID, Model: k.req.Model,
		Body: k.raw, At: k.start})
	if err == nil {
		return false, nil
	}
	var b *hook.Blocked
	if !errors.As(err, &b) {
		return true, g.refuse(k, err)
	}
	k.finish(g, b.Status, billing.Usage{}, false)
	return true, g.renderBlocked(k.c, b)
}

// refuse logs a call stopped before any upstream (uncharged) and returns its fault.
func (g *Gateway) refuse(k *call, err error) error {
	status := http.StatusInternalServerError
	if fe, ok := fault.As(err); ok {
		status = fe.Status()
	}
	k.finish(g, status, billing.Usage{}, false)
	return err
}

var auditCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

var blockedKinds = map[int]fault.Kind{
	http.StatusBadRequest: fault.Invalid, http.StatusUnauthorized: fault.Unauthorized,
	http.StatusPaymentRequired: fault.PaymentRequired, http.StatusForbidden: fault.Forbidden,
	http.StatusNotFound: fault.NotFound, http.StatusConflict: fault.Conflict,
	http.StatusRequestEntityTooLarge: fault.TooLarge, http.StatusUnprocessableEntity: fault.Unprocessable,
	http.StatusTooManyRequests: fault.RateLimited,
}

// renderBlocked answers a call the audit hook blocked: the hook's status, its body as the message,
// and as the code the body's `error` field when it is a plain code (`model_cap_exceeded`), else
// `audit_blocked`. A `clears_in` in the body becomes Retry-After.
func (g *Gateway) renderBlocked(c echo.Context, b *hook.Blocked) error {
	kind, ok := blockedKinds[b.Status]
	if !ok {
		kind = fault.Forbidden
	}
	code := "audit_blocked"
	if e := gjson.Get(b.Message, "error"); e.Type == gjson.String && auditCode.MatchString(e.String()) {
		code = e.String()
	}
	if ci := gjson.Get(b.Message, "clears_in"); ci.Type == gjson.Number && ci.Int() > 0 {
		c.Response().Header().Set("Retry-After", strconv.FormatInt(ci.Int(), 10))
	}
	fe := fault.Code(kind, code, b.Message)
	rid := c.Response().Header().Get(httpx.HeaderRequestID)
	path := c.Request().URL.Path
	for _, r := range g.ErrorShapes() {
		if len(path) >= len(r.Prefix) && path[:len(r.Prefix)] == r.Prefix {
			return r.Render(c, b.Status, fe, rid)
		}
	}
	return renderOpenAI(c, b.Status, fe, rid)
}

// afterSuccess runs once a successful, charged call has been answered in full: it queues the
// NOTIFY_URL notification and a share link's shareAuth/finish (copied and queued; the hook
// service writes the outbox in the background), and counts the answered question against the
// share link's limits (one UPDATE, after the caller has its answer).
func (g *Gateway) afterSuccess(k *call) {
	if k.ep.op == opCount {
		return
	}
	l := shareOf(k.c)
	if l != nil {
		ctx := context.WithoutCancel(k.c.Request().Context())
		if err := g.d.Queries.ShareLinkUsageAdd(ctx, g.d.Pool, db.ShareLinkUsageAddParams{ID: l.id, Quota: k.rec.Quota}); err != nil {
			g.d.Log.Warn("count share link usage", "share_id", l.id, "error", err)
		}
	}
	if g.d.Hooks == nil {
		return
	}
	res := hook.Result{PromptTokens: k.rec.PromptTokens, CompletionTokens: k.rec.CompletionTokens, Quota: k.rec.Quota}
	tok := callToken(k.c)
	g.d.Hooks.Notify(hook.Call{Token: tok, UserID: k.cl.user.id, AccountID: k.rec.AccountID, Model: k.req.Model, Body: k.raw, At: k.start}, res)
	if l != nil && l.authHost != "" {
		rep := hook.ShareReport{Host: l.authHost, Token: tok, Question: hook.Question(k.raw), Model: k.req.Model, Result: res}
		if l.answer != nil {
			rep.Answer = l.answer.answer()
		}
		for _, f := range [...]string{"max_completion_tokens", "max_tokens"} {
			if v := gjson.GetBytes(k.raw, f); v.Type == gjson.Number {
				n := v.Int()
				rep.MaxTokens = &n
				break
			}
		}
		g.d.Hooks.ShareFinish(rep)
	}
}
