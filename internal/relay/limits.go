package relay

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/provider/openai"
)

// admit counts the call against the limit rules that match it and reserves its estimated cost
// (ledger.go), together: one Redis round trip when either applies, none otherwise. A call a rule
// refuses answers 429 rate_limit_exceeded with Retry-After and clears_in; one the balance or the
// key's quota does not cover answers 402 insufficient_quota — before any upstream, uncharged.
func (rl *Relay) admit(k *call, body []byte) error {
	if rl.d.Limits == nil {
		return nil
	}
	cs := limits.Match(rl.d.LimitRules.Get(), limits.Who{User: k.cl.user.id, Key: k.cl.KeyID, Group: k.cl.user.p().group,
		Plan: k.cl.user.planAt(k.start)}, k.req.Model)
	h := rl.hold(k, body)
	if len(cs) == 0 && h == nil {
		return nil
	}
	var est int64
	for i := range cs {
		if cs[i].Rule.Tokens > 0 {
			est = k.estimate + k.maxOut()
			break
		}
	}
	t, ref := rl.d.Limits.Admit(k.ctx, cs, est, h)
	switch {
	case ref == nil:
		k.ticket = t
		return nil
	case ref.Kind == limits.KindBalance:
		return errBalance
	case ref.Kind == limits.KindKeyQuota:
		return errKeyQuota
	}
	return limitFault(ref)
}

// release gives the call's place in the counters and its reservation back, once: served says
// whether it reached an answer (an unserved call's request is not counted), tokens what it used,
// charge the quota it cost (counted on the ledger instead of the reservation). In Redis it is
// queued and sent with the releases of the calls finishing together, off the caller's path
// (limits.Limiter.ReleaseLater): until then the call only holds more, never less.
func (k *call) release(rl *Relay, served bool, tokens, charge int64) {
	k.quotaSettle(rl, served, tokens)
	if k.ticket == nil {
		return
	}
	t := k.ticket
	k.ticket = nil
	rl.d.Limits.ReleaseLater(t, served, tokens, charge)
}

// limitFault is the 429 of a call a limit rule refused.
func limitFault(ref *limits.Refusal) *fault.Error {
	secs := ref.ClearsInSeconds()
	r := ref.Rule
	what := map[string]string{limits.KindRequests: strconv.FormatInt(r.Requests, 10) + " requests per " + limits.FormatWindow(r.Window),
		limits.KindTokens:      strconv.FormatInt(r.Tokens, 10) + " tokens per " + limits.FormatWindow(r.Window),
		limits.KindConcurrency: strconv.FormatInt(r.Concurrency, 10) + " concurrent requests"}[ref.Kind]
	return clearing(fault.Code(fault.RateLimited, "rate_limit_exceeded", "Rate limit reached for "+string(r.Scope)+" limit "+
		strconv.FormatInt(r.ID, 10)+" ("+what+" on "+r.Model+"); try again in "+strconv.FormatInt(secs, 10)+"s."), secs)
}

// clearing makes a 429 say it clears in secs seconds (Retry-After and the body's clears_in).
func clearing(fe *fault.Error, secs int64) *fault.Error {
	fe.RetryAfter = strconv.FormatInt(secs, 10)
	fe.ClearsIn = secs
	return fe
}

// maxOutput is the most output tokens the request asks for: the first of max_tokens,
// max_completion_tokens, max_output_tokens and Gemini's generationConfig.maxOutputTokens (either
// spelling) that holds a positive number; 0 when none does. It reads the members ep.parse read
// in its one pass over the body.
func maxOutput(r *openai.Request) int64 {
	// In order, each looked at only when the ones before it give nothing (a generation config is
	// searched only when the body has one).
	for _, v := range [...]gjson.Result{r.Knobs[openai.KnobMaxTokens], r.Knobs[openai.KnobMaxCompletionTokens],
		r.Meta[openai.MetaMaxOutputTokens]} {
		if n := positiveInt(v); n > 0 {
			return n
		}
	}
	for _, c := range [...]struct {
		config gjson.Result
		field  string
	}{{r.Meta[openai.MetaGenerationConfig], "maxOutputTokens"}, {r.Meta[openai.MetaGenerationConfigSnake], "max_output_tokens"}} {
		if c.config.IsObject() {
			if n := positiveInt(c.config.Get(c.field)); n > 0 {
				return n
			}
		}
	}
	return 0
}

// positiveInt is v's value when it is a positive number, else 0.
func positiveInt(v gjson.Result) int64 {
	if v.Type == gjson.Number {
		return max(v.Int(), 0)
	}
	return 0
}

// maxOut is maxOutput of the caller's body: the ledger's hold, the limit rules' token estimate
// and the shared quota each ask for it.
func (k *call) maxOut() int64 { return maxOutput(&k.req) }
