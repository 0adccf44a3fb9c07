package relay

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hook"
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

// beforeUpstream runs the share link's start check and the audit hook before the first upstream
// attempt; accountID is the account planned first (the audit's carId). When it stops the call
// (stop is true), err is the fault to render in the caller's protocol's shape, and the call is
// logged uncharged.
func (rl *Relay) beforeUpstream(k *call, accountID int64) (stop bool, err error) {
	l := k.share
	if l != nil && !l.allows(k.req.Model) {
		return true, rl.refuse(k, fault.Code(fault.Forbidden, "model_not_allowed", "this share link does not allow model "+k.req.Model))
	}
	if rl.d.Hooks == nil || k.ep.op == opCount {
		return false, nil
	}
	ctx := k.ctx
	if l != nil && l.authHost != "" {
		v, err := rl.d.Hooks.ShareStart(ctx, l.authHost, k.cl.Token, hook.Question(k.raw))
		if err != nil {
			return true, rl.refuse(k, err)
		}
		if !v.OK {
			return true, rl.refuse(k, fault.Code(fault.Forbidden, "share_auth_refused", v.Message))
		}
	}
	err = rl.d.Hooks.Audit(ctx, k.hookCall(accountID))
	if err == nil {
		return false, nil
	}
	var b *hook.Blocked
	if !errors.As(err, &b) {
		return true, rl.refuse(k, err)
	}
	k.finish(rl, b.Status, billing.Usage{}, false)
	return true, blocked(b)
}

// refuse logs a call stopped before any upstream (uncharged) and returns its fault.
func (rl *Relay) refuse(k *call, err error) error {
	status := http.StatusInternalServerError
	if fe, ok := fault.As(err); ok {
		status = fe.Status()
	}
	k.finish(rl, status, billing.Usage{}, false)
	return err
}

var auditCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// blocked is the fault of a call the audit hook blocked: the hook's status, its body as the
// message, and as the code the body's `error` field when it is a plain code
// (`model_cap_exceeded`), else `audit_blocked`. A `clears_in` in the body becomes Retry-After.
func blocked(b *hook.Blocked) *fault.Error {
	code := "audit_blocked"
	if e := gjson.Get(b.Message, "error"); e.Type == gjson.String && auditCode.MatchString(e.String()) {
		code = e.String()
	}
	fe := &fault.Error{Kind: kindOf(b.Status, fault.Forbidden), Code: code, Message: b.Message, HTTPStatus: b.Status}
	if ci := gjson.Get(b.Message, "clears_in"); ci.Type == gjson.Number && ci.Int() > 0 {
		fe.RetryAfter = strconv.FormatInt(ci.Int(), 10)
	}
	return fe
}

// afterSuccess runs once a successful, charged call has been answered in full: it queues the
// NOTIFY_URL notification and a share link's shareAuth/finish (copied and queued; the hook
// service writes the outbox in the background), and counts the answered question against the
// share link's limits (one UPDATE, after the caller has its answer).
func (rl *Relay) afterSuccess(k *call) {
	if k.ep.op == opCount {
		return
	}
	l := k.share
	if l != nil {
		ctx := context.WithoutCancel(k.ctx)
		if err := rl.d.Queries.ShareLinkUsageAdd(ctx, rl.d.Pool, db.ShareLinkUsageAddParams{ID: l.ID, Quota: k.rec.Quota}); err != nil {
			rl.d.Log.WarnContext(ctx, "count share link usage", "request_id", k.rec.RequestID, "share_id", l.ID, "error", err)
		}
	}
	if rl.d.Hooks == nil {
		return
	}
	r := &k.rec
	res := hook.Result{PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, CachedTokens: r.CachedTokens,
		CacheWrite5mTokens: r.CacheWrite5mTokens, CacheWrite1hTokens: r.CacheWrite1hTokens, ReasoningTokens: r.ReasoningTokens,
		Quota: r.Quota}
	rl.d.Hooks.Notify(k.hookCall(r.AccountID), res)
	if l != nil && l.authHost != "" {
		rep := hook.ShareReport{Host: l.authHost, Token: k.cl.Token, RequestID: r.RequestID, Body: k.raw,
			Question: hook.Question(k.raw), Model: k.req.Model, Result: res}
		if k.answer != nil {
			rep.Answer = k.answer.answer()
		}
		for _, f := range [...]string{"max_completion_tokens", "max_tokens"} {
			if v := gjson.GetBytes(k.raw, f); v.Type == gjson.Number {
				n := v.Int()
				rep.MaxTokens = &n
				break
			}
		}
		rl.d.Hooks.ShareFinish(rep)
	}
}

// hookCall is the call as the hooks see it; accountID is the account planned first (audit) or
// that answered (notify).
func (k *call) hookCall(accountID int64) hook.Call {
	return hook.Call{RequestID: k.rec.RequestID, Token: k.cl.Token, Share: k.share != nil, UserID: k.cl.user.id,
		AccountID: accountID, Model: k.req.Model, Body: k.raw, At: k.start}
}
