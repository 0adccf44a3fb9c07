package relay

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/quota"
)

// maxErrorBody bounds the part of an upstream error body read to classify it.
const maxErrorBody = 64 << 10

// maxAccountFailovers bounds the failures blamed on an account (cooled, needs-reauth, banned,
// disabled) one call may pass over without counting them against MAX_ATTEMPTS: with it the number
// of upstream requests per call stays bounded (MAX_ATTEMPTS + maxAccountFailovers), as does its
// time (POOL_RETRY_BUDGET).
const maxAccountFailovers = 16

// attempt places a call on the pool's accounts: it plans candidates (preferred, sticky,
// key-bound, dedicated, the shared pool of the caller's group), takes each one's concurrency slot, sends, reports the outcome to the pool
// (which cools, bans or flags the account by the error table), and fails over only while nothing
// has reached the caller, within MAX_ATTEMPTS and POOL_RETRY_BUDGET. A failure the error table
// blames on the account itself (it cools the account or takes it out of rotation) does not use up
// one of the caller's MAX_ATTEMPTS while untried accounts remain (at most maxAccountFailovers of
// them per call), so a healthy account in the pool is always reached. Only a committed answer is
// charged, once.
func (rl *Relay) attempt(k *call, snap *snapshot, body []byte, path string) error {
	p := rl.d.Accounts
	r := k.r
	ctx := r.Context()
	user := k.cl.user.id
	m := &k.req.Meta
	session := pool.Session(r.Header, m[openai.MetaMetadata], m[openai.MetaPromptCacheKey], m[openai.MetaUser])
	var bound int64
	if session != "" {
		bound = p.Bound(ctx, user, session)
	}
	prefer := pool.PreferredAccount(r.Header)
	if prefer == 0 {
		prefer = k.cl.user.p().prefer // chosen at /logintoken
	}
	plan := p.Plan(snap.pool, pool.Request{Model: k.req.Model, User: user, Key: k.cl.KeyID, Group: k.cl.user.p().group,
		Tier: k.cl.user.tierAt(p.Now(), rl.d.Settings.Get()), Prefer: prefer, Bound: bound, SharedFirst: k.cl.user.p().sharedFirst}, 2*rl.d.MaxAttempts+maxAccountFailovers)
	if len(plan.Accounts) == 0 {
		return rl.unplaced(k, plan)
	}
	if stop, err := rl.beforeUpstream(k, plan.Accounts[0].ID); stop { // share start check, audit hook
		return err
	}
	var (
		last     *http.Response
		lastErr  error
		lastAcc  *account
		stripped []byte
		attempts int // requests that count against MAX_ATTEMPTS
		excused  int // account-caused failures not counted
		busy     int
		quotaRef *quota.Refusal // the caller's shared quota refused a shared account
		// served is the lease of the account that answers, released when the call ends (one
		// deferred call outside the loop: a defer inside it would be allocated per call).
		served  pool.Lease
		serving bool
	)
	defer func() {
		if serving {
			p.Release(ctx, served)
		}
	}()
	for _, pa := range plan.Accounts {
		if attempts >= rl.d.MaxAttempts || ctx.Err() != nil ||
			(attempts+excused > 0 && rl.d.RetryBudget > 0 && time.Since(k.start) > rl.d.RetryBudget) {
			break
		}
		acc := snap.accounts[pa.ID]
		if acc == nil {
			continue
		}
		if ref, err := rl.quotaTake(k, pa, acc); err != nil || ref != nil {
			if err != nil {
				return err
			}
			quotaRef = ref
			continue
		}
		lease, ok := p.Acquire(ctx, pa, k.req.Model, k.rec.RequestID)
		if !ok {
			k.quotaDrop(rl)
			busy++
			continue
		}
		attempts++
		send := body
		if bound != 0 && pa.ID != bound { // the session moves: drop what only its old account accepts
			if stripped == nil {
				stripped, _ = pool.StripArtefacts(body)
			}
			send = stripped
		}
		serve := func() { // the account answers the call: no failover after this
			served, serving = lease, true
			p.Succeeded(pa)
			if session != "" && pa.ID != bound {
				p.Bind(ctx, user, session, pa.ID)
			}
			k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
		}
		if k.countsLocally(acc) { // no upstream of this account counts in the caller's words
			out, err := rl.countLocally(k, send)
			if last != nil {
				last.Body.Close()
			}
			if err != nil { // a request the tokenizer cannot read: as a fault of send's
				last, lastErr, lastAcc = nil, err, acc
				k.quotaDrop(rl)
				p.Release(ctx, lease)
				continue
			}
			serve()
			return rl.answerCount(k, out)
		}
		resp, err := rl.send(ctx, k, acc, send) // builds the request in the account's protocol (upstream.go)
		if err == nil {
			resp.Body = idleBounded(resp.Body, rl.d.UpstreamIdleTimeout)
		}
		if last != nil {
			last.Body.Close()
		}
		last, lastErr, lastAcc = resp, err, acc
		if err != nil || resp.StatusCode != http.StatusOK {
			k.quotaDrop(rl) // this account did not serve the call
		}
		if err != nil {
			// A fault of Poolgate's own (the request cannot be expressed in this account's
			// protocol, or the endpoint is not offered by it) says nothing about the account:
			// another account may speak a protocol that can carry the request.
			if ctx.Err() == nil && !isFault(err) {
				p.Report(ctx, pa, k.req.Model, pool.Outcome{Err: err})
				rl.d.Log.WarnContext(k.ctx, "upstream unreachable; trying another account", "request_id", k.rec.RequestID,
					"account_id", acc.id, "error", err)
			}
			p.Release(ctx, lease)
			continue
		}
		if resp.StatusCode == http.StatusOK {
			serve()
			return rl.commit(k, acc, resp) // relays or translates by protocol (commit.go)
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		rule := p.Report(ctx, pa, k.req.Model, pool.Outcome{Status: resp.StatusCode, Header: resp.Header, Body: raw})
		p.Release(ctx, lease)
		if rule.Action == pool.ActReturn {
			return rl.relayError(k, acc, resp)
		}
		if rule.Action.AccountCaused() && excused < maxAccountFailovers {
			attempts--
			excused++
		}
		rl.d.Log.WarnContext(k.ctx, "upstream refused; trying another account", "request_id", k.rec.RequestID,
			"account_id", acc.id, "status", resp.StatusCode, "action", rule.Action.String())
	}
	if last != nil {
		defer last.Body.Close()
	}
	if attempts+excused == 0 && quotaRef != nil && ctx.Err() == nil {
		fe := quotaFault(quotaRef)
		k.finish(rl, fe.Status(), billing.Usage{}, false)
		return fe
	}
	if attempts+excused == 0 && busy > 0 && ctx.Err() == nil {
		return rl.unplaced(k, pool.Plan{Busy: true})
	}
	return rl.fail(k, lastAcc, last, lastErr, ctx.Err() != nil)
}

// unplaced answers a call no account could take, and logs it uncharged.
func (rl *Relay) unplaced(k *call, plan pool.Plan) error {
	var fe *fault.Error
	switch {
	case plan.TierDenied:
		fe = fault.Code(fault.Forbidden, "tier_required", "model "+BoundName(k.req.Model)+" needs a higher plan than yours")
	case plan.Cooling:
		secs := math.Ceil(plan.RetryAt.Sub(rl.d.Accounts.Now()).Seconds())
		fe = fault.Code(fault.RateLimited, "rate_limit_exceeded", "all upstream accounts for this model are cooling down; retry later")
		fe.RetryAfter = strconv.Itoa(max(int(secs), 1))
	case plan.Busy:
		fe = fault.Code(fault.RateLimited, "accounts_busy", "all upstream accounts for this model are at their concurrency limit; retry shortly")
		fe.RetryAfter = "1"
	default:
		fe = fault.Code(fault.Unavailable, "no_available_account", "no upstream account is available for this model")
	}
	k.finish(rl, fe.Status(), billing.Usage{}, false)
	return fe
}

// idleBody cuts an upstream answer that goes silent: when no byte arrives for d, the body is
// closed, which closes its connection (or its HTTP/2 stream), so the pending read ends and the
// caller's answer ends with a clean error (failover is no longer possible once a 200 was
// committed). The read then fails with errUpstreamSilent whatever the client made of the close
// (net/http's HTTP/1 body ends a read pending at the close as if the answer had ended). This costs
// the call none of the context a cancellation would (a context per attempt, its done channel and
// its children), only the timer. Closing the body stops the clock. The lean client's bodies bound
// their silence themselves (upstreamhttp: the connection's read deadline), so only net/http's
// (HTTPS, HTTP/2, proxies) take the timer.
type idleBody struct {
	io.ReadCloser
	d      time.Duration
	timer  *time.Timer
	silent atomic.Bool // cut for its silence
}

// errUpstreamSilent ends the read of an answer cut for its silence.
var errUpstreamSilent = errors.New("the upstream answer went silent for longer than UPSTREAM_IDLE_TIMEOUT")

// idleBounded bounds body's silences by d (0: body as it is).
func idleBounded(body io.ReadCloser, d time.Duration) io.ReadCloser {
	if d <= 0 {
		return body
	}
	// The lean upstream client bounds the silence with its connection's read deadline (no timer
	// of its own, nothing allocated per answer); net/http's bodies get the timer.
	if sb, ok := body.(interface {
		BoundSilence(time.Duration, error) bool
	}); ok && sb.BoundSilence(d, errUpstreamSilent) {
		return body
	}
	b := &idleBody{ReadCloser: body, d: d}
	b.timer = time.AfterFunc(d, b.cut)
	return b
}

// cut closes the body once it has been silent for d.
func (b *idleBody) cut() {
	b.silent.Store(true)
	_ = b.ReadCloser.Close()
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.silent.Load() {
		return n, errUpstreamSilent
	}
	if n > 0 {
		b.timer.Reset(b.d)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.ReadCloser.Close()
}
