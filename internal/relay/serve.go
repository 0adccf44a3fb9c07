package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/header"
	"github.com/poolgate/poolgate/internal/jsonx"
	"github.com/poolgate/poolgate/internal/limits"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/quota"
)

// maxResponseBytes bounds a non-streamed upstream answer.
const maxResponseBytes = 64 << 20

// StatusClientClosed is logged for calls whose caller went away before an answer.
const StatusClientClosed = 499

// Call is one gateway call as the HTTP layer hands it over.
type Call struct {
	// Endpoint is the inbound route (Chat, Messages, GeminiEndpoint(...), ...).
	Endpoint *Endpoint
	// Model is the model named in the URL (Gemini routes); "" reads it from the body.
	Model string
	// Caller is who the call is charged to.
	Caller Caller
	// Share is the share link the call came through (nil: none).
	Share *ShareLink
	// GeminiArray answers a Gemini stream as a JSON array rather than server-sent events.
	GeminiArray bool
	// RequestID identifies the call in logs, usage records and hooks.
	RequestID string
}

// call is the state of one gateway call.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	ctx      context.Context
	flusher  http.Flusher // nil when w cannot flush
	cl       Caller
	share    *ShareLink
	answer   *answerCapture // a share link's answer for shareAuth/finish (nil: not collected)
	array    bool           // Gemini stream as a JSON array
	req      openai.Request
	price    billing.Price
	priced   bool
	mult     *multipliers // the snapshot's multipliers, applied with the channel that served the call
	rec      billing.Record
	start    time.Time
	estimate int64 // prompt token estimate, used when the upstream reports no usage
	// ep is the inbound route (caller protocol and operation); tr caches the request's
	// translations to other protocols (translate.go).
	ep *Endpoint
	tr translation
	// raw is the caller's body as received (the hooks' raw_message).
	raw []byte
	// ticket is the call's place in the limit rules' counters (nil: released or none).
	ticket *limits.Ticket
	// quota is the call's reservation in the caller's shared quota (nil: none held), in quotaUnit.
	quota     *quota.Hold
	quotaUnit string
	// fb is w's first-byte clock for a stream (part of the call, not an allocation of its own).
	fb firstByte
	// gate holds a stream's headers back while its upstream's first bytes are read ahead
	// (streamBody); headPending: they have not been flushed yet.
	gate        headGate
	headPending bool
}

// flush sends what was written to the caller so far.
func (k *call) flush() {
	k.headPending = false
	if k.flusher != nil {
		k.flusher.Flush()
	}
}

// streamBody is what a stream's events are read from, its headers written (not flushed). When
// the upstream's body tells what it has read ahead (the lean client's does), the headers wait
// for the first events that are already there, so headers and events leave in one write; they
// are flushed before any read of the body that could wait (headGate). Otherwise they are
// flushed at once.
func (k *call) streamBody(body io.Reader) io.Reader {
	if b, ok := body.(interface{ Buffered() int }); ok && k.flusher != nil {
		k.headPending = true
		k.gate = headGate{k: k, body: body, ahead: b}
		return &k.gate
	}
	k.flush()
	return body
}

// headGate reads a stream's upstream body and flushes the stream's headers, while they are
// pending, before a read that may wait for the upstream: one that finds nothing read ahead.
type headGate struct {
	k     *call
	body  io.Reader
	ahead interface{ Buffered() int }
}

func (g *headGate) Read(p []byte) (int, error) {
	if g.k.headPending && g.ahead.Buffered() == 0 {
		g.k.flush()
	}
	return g.body.Read(p)
}

// Serve serves one gateway call of any protocol: it answers the caller through w (the answer,
// relayed or translated, streamed event by event) and returns nil, or returns the fault to render
// in the caller's protocol's shape when no answer was started. Every call is logged for usage,
// and only a call that reached an upstream answer is charged.
//
// Serve, serveBody and serveCall are one function in three: each keeps its defers few and its
// returns few, so that Go runs the defers inline (open-coded) rather than recording each one.
func (rl *Relay) Serve(w http.ResponseWriter, r *http.Request, c Call) error {
	rl.inflight.Add(1)
	defer rl.inflight.Add(-1)
	start := time.Now()
	body, bp, err := rl.readBody(r)
	if err != nil {
		return err
	}
	defer rl.bufs.Put(bp)
	return rl.serveBody(w, r, c, start, body)
}

// serveBody checks the call the caller's body asks for and serves it (serveCall).
func (rl *Relay) serveBody(w http.ResponseWriter, r *http.Request, c Call, start time.Time, body []byte) error {
	ep := c.Endpoint
	req, err := ep.parse(body, c.Model)
	if err != nil {
		return err
	}
	if req.Model == "" {
		return fault.Code(fault.Invalid, "missing_model", "you must provide a model parameter (a string)")
	}
	ctx := r.Context()
	snap, err := rl.routes.get(ctx)
	if err != nil {
		return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	if !snap.pool.Serves(req.Model) {
		return fault.Code(fault.NotFound, "model_not_found",
			"The model `"+BoundName(req.Model)+"` does not exist or you do not have access to it.")
	}
	price, priced := snap.prices[req.Model]
	if !priced && !rl.d.Settings.Get().AllowUnpricedModels {
		return fault.Code(fault.Forbidden, "model_not_priced", "model "+BoundName(req.Model)+" has no price configured")
	}
	cl := c.Caller
	if err := cl.limits.check(req.Model); err != nil {
		return err
	}
	// Without a limiter (no ledger) the cached balance gates; with one, the reservation does (admit).
	if rl.d.Limits == nil && ep.op != opCount && priced && cl.user.balance.Load() <= 0 && (price.Input > 0 || price.Output > 0) {
		return fault.Code(fault.PaymentRequired, "insufficient_quota", "insufficient balance; top up your quota")
	}
	upBody := body
	// Ask OpenAI chat and completion streams for usage (the Responses API reports it anyway and
	// has no stream_options.include_usage).
	if req.Stream && !req.IncludeUsage && (ep.op == opChat || ep.op == opCompletion) {
		if upBody, err = ep.adapter().WithStreamUsage(body); err != nil {
			return fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
		}
	}
	k := rl.newCall()
	*k = call{w: w, r: r, ctx: ctx, cl: cl, share: c.Share, array: c.GeminiArray, req: req, price: price, priced: priced, mult: snap.mult,
		start: start, ep: ep, raw: body, estimate: int64(len(body)/4 + 1),
		rec: billing.Record{RequestID: c.RequestID, UserID: cl.user.id,
			APIKeyID: cl.KeyID, Model: req.Model, Endpoint: ep.name, Stream: req.Stream}}
	if c.Share != nil && c.Share.authHost != "" && rl.d.Hooks != nil { // shareAuth/finish carries the answer
		k.answer = &answerCapture{ResponseWriter: w}
		k.w = k.answer
	}
	if req.Stream { // the usage log keeps the time to the stream's first byte
		k.fb = firstByte{ResponseWriter: k.w, k: k}
		k.w = &k.fb
	}
	k.flusher, _ = k.w.(http.Flusher)
	return rl.serveCall(k, snap, body, upBody)
}

// serveCall admits the call k and relays it (upBody: the body to send upstream).
func (rl *Relay) serveCall(k *call, snap *snapshot, body, upBody []byte) error {
	defer rl.putCall(k) // after k.release below: nothing holds k once Serve returns
	if err := rl.admit(k, body); err != nil {
		return err
	}
	defer k.release(rl, false, 0, 0) // a path that never reached finish (a panic, a hook's stop): nothing charged
	return rl.attempt(k, snap, upBody, k.ep.path)
}

// firstByte notes in the call's usage record when the first byte of a streamed answer is written.
type firstByte struct {
	http.ResponseWriter
	k *call
}

func (w *firstByte) Write(b []byte) (int, error) {
	if w.k.rec.FirstToken == 0 && len(b) > 0 && strings.HasPrefix(header.Get(w.Header(), "Content-Type"), "text/event-stream") {
		w.k.rec.FirstToken = max(time.Since(w.k.start), time.Nanosecond)
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through, so the stream still streams.
func (w *firstByte) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *firstByte) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fail answers when no account produced an answer, and logs the call uncharged.
func (rl *Relay) fail(k *call, acc *account, last *http.Response, lastErr error, clientGone bool) error {
	var fe *fault.Error
	switch {
	case last == nil && isFault(lastErr): // the request cannot be served in this account's protocol
		fe, _ = fault.As(lastErr)
	case clientGone:
		k.finish(rl, StatusClientClosed, billing.Usage{}, false)
		return nil
	case last == nil && lastErr == nil:
		fe = fault.Code(fault.Unavailable, "no_available_account", "no upstream account is available for this model")
	case last == nil:
		fe = fault.Code(fault.Upstream, "upstream_error", "the upstream provider could not be reached")
	case last.StatusCode == http.StatusTooManyRequests:
		fe = fault.Code(fault.RateLimited, "rate_limit_exceeded", "all upstream accounts for this model are rate-limited; retry later")
		fe.RetryAfter = last.Header.Get("Retry-After")
	case last.StatusCode == http.StatusUnauthorized || last.StatusCode == http.StatusForbidden || last.StatusCode == http.StatusPaymentRequired:
		fe = fault.Code(fault.Unavailable, "no_available_account", "no upstream account for this model is usable right now")
	default:
		fe = fault.Code(fault.Upstream, "upstream_error", "the upstream provider failed to answer")
	}
	if acc != nil {
		k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
	}
	k.finish(rl, fe.Status(), billing.Usage{}, false)
	return fe
}

// commitJSON relays a non-streamed answer unchanged and charges its usage (read by answerUsage
// for the call's protocol and operation).
func (rl *Relay) commitJSON(k *call, resp *http.Response) error {
	defer resp.Body.Close()
	bp := rl.buf()
	defer rl.bufs.Put(bp)
	out, err := readLimited((*bp)[:0], resp.Body, maxResponseBytes)
	*bp = out[:0]
	if err != nil {
		return rl.fail(k, nil, nil, err, k.ctx.Err() != nil)
	}
	// One pass validates the answer and finds the members its usage is read from; an answer
	// that is valid JSON but not an object is relayed as it is, charged by estimate.
	var m [2]gjson.Result
	if !jsonx.ParseMembersInPlace(out, k.ep.answerMembers()[:], m[:]) && !gjson.ValidBytes(out) {
		// Nothing has reached the caller: an answer that is not JSON (an HTML error page behind a
		// 200, garbage) becomes a clean error in the caller's protocol rather than being relayed.
		rl.d.Log.WarnContext(k.ctx, "upstream answer unreadable", "request_id", k.rec.RequestID, "account_id", k.rec.AccountID,
			"content_type", resp.Header.Get("Content-Type"), "bytes", len(out))
		fe := fault.Code(fault.Upstream, "upstream_error", "the upstream provider sent an answer that could not be read")
		k.finish(rl, fe.Status(), billing.Usage{PromptTokens: k.estimate}, true)
		return fe
	}
	w := k.w
	ct := header.Get(resp.Header, "Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	// A known length and no flush (finishWith): the server sends headers and answer in one
	// write when the handler returns, without chunked framing.
	v := []string{ct, strconv.Itoa(len(out))} // Set, with both values in one allocation
	h := w.Header()
	h["Content-Type"], h["Content-Length"] = v[0:1:1], v[1:2:2]
	w.WriteHeader(http.StatusOK)
	usage, charge := k.answerUsage(out, m[0], m[1]) // read before out's buffer goes back (m points into it)
	k.finishWith(rl, k.answeredStatus(), usage, charge, out, false)
	return nil
}

// answeredStatus is the status logged for an answer about to be written in full: 200, or 499
// when the caller has already gone.
func (k *call) answeredStatus() int {
	if k.ctx.Err() != nil {
		return StatusClientClosed
	}
	return http.StatusOK
}

// commitStream relays an SSE stream event by event, reading usage from the final chunk. The usage
// chunk is withheld when the caller did not ask for it. A stream the upstream cuts short ends with
// an error event; a caller that goes away is charged for what was generated (the reported usage,
// or an estimate when the upstream never reported it).
func (rl *Relay) commitStream(k *call, resp *http.Response) error {
	defer resp.Body.Close()
	w := k.w
	h := w.Header()
	v := []string{"text/event-stream", "no-cache", "no"} // Set, with the values in one allocation
	h["Content-Type"], h["Cache-Control"], h["X-Accel-Buffering"] = v[0:1:1], v[1:2:2], v[2:3:3]
	w.WriteHeader(http.StatusOK)

	br := rl.reader(k.streamBody(resp.Body))
	defer rl.readers.Put(br)
	var (
		usage     billing.Usage
		haveUsage bool
		done      bool
		streamed  int
		skipBlank bool
		clientErr error
		readErr   error
		tail      []byte // the [DONE] event, written once the call is recorded
		doneAt    time.Time
	)
	clock := rl.forwardClockOf(&rl.fwdRelayed)
	write := func(b []byte) {
		if clientErr == nil {
			_, clientErr = w.Write(b)
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: forward it in pieces without inspecting it.
			streamed += len(line) / 4
			write(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				streamed += len(line) / 4
				write(line)
			}
			if err != nil {
				readErr = err
				break
			}
			continue
		}
		if len(line) > 0 {
			trimmed := bytes.TrimRight(line, "\r\n")
			switch {
			case len(trimmed) == 0:
				if skipBlank {
					skipBlank = false
				} else {
					write(line)
					// Flush once the events already read are written: one syscall for a burst of
					// events, and never a delay for the last one.
					if clientErr == nil && br.Buffered() == 0 {
						k.flush()
						clock.flushed()
					}
				}
			case bytes.HasPrefix(trimmed, []byte("data:")):
				readAt := clock.now()
				payload := bytes.TrimSpace(trimmed[5:])
				if bytes.Equal(payload, []byte("[DONE]")) {
					// The end marker waits until the call is recorded (finishWith).
					done, doneAt = true, readAt
					if string(line) == "data: [DONE]\n" {
						tail = doneEvent // what the append below makes of it, without the copy
					} else {
						tail = append(append(tail, line...), line[len(trimmed):]...)
					}
					break
				}
				if hasUsage(payload) {
					if u, ok := openai.UsageOf(payload); ok {
						usage, haveUsage = u, true
						if !k.req.IncludeUsage && openai.IsUsageOnlyChunk(payload) {
							skipBlank = true
							break
						}
					}
				}
				streamed++ // about one token per content event, for the estimate when usage never comes
				if !k.req.IncludeUsage {
					// Poolgate asked for usage, not the caller: drop the `"usage":null` OpenAI then
					// adds to every chunk, so the caller gets the bytes it would have got.
					// In place: ReadSlice's bytes are consumed and are not read again.
					if i := bytes.Index(line, usageNull); i >= 0 {
						line = line[:i+copy(line[i:], line[i+len(usageNull):])]
					}
				}
				write(line)
				clock.written(readAt)
			default:
				write(line)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if clientErr != nil || done {
			break
		}
	}
	if clientErr == nil && clock.pending() {
		// Events written since the last flush (the loop flushes only when nothing more is
		// buffered): flush them now, so they are forwarded and counted.
		k.flush()
		clock.flushed()
	}
	status := http.StatusOK
	switch {
	case done && clientErr == nil:
		// Complete: the caller may hang up right after [DONE], which cancels the request
		// context, but the call succeeded.
	case clientErr != nil || k.ctx.Err() != nil:
		status = StatusClientClosed
	case !done:
		rl.d.Log.WarnContext(k.ctx, "upstream stream ended early", "request_id", k.rec.RequestID, "account_id", k.rec.AccountID, "error", readErr)
		write([]byte(`data: {"error":{"message":"the upstream stream was interrupted before it finished","type":"upstream_error","param":null,"code":"stream_interrupted"}}` + "\n\n"))
		k.flush()
		status = http.StatusBadGateway
	}
	if !haveUsage {
		usage = billing.Usage{PromptTokens: k.estimate, CompletionTokens: int64(streamed + 1)}
	}
	if status != http.StatusOK {
		tail = nil
	}
	if k.finishWith(rl, status, usage, true, tail, false) {
		clock.written(doneAt)
		clock.flushed()
	}
	if done {
		// Read what follows the end marker (the chunked body's end), so that the upstream
		// connection is reused.
		_, _ = br.Discard(maxEventBytes)
	}
	return nil
}

// finish prices and records the call. Only calls that reached an upstream answer are charged.
func (k *call) finish(rl *Relay, status int, u billing.Usage, charge bool) {
	k.finishWith(rl, status, u, charge, nil, false)
}

// finishWith prices and records the call, and only then writes tail, the answer's last bytes,
// and flushes (when a stream's tail is written or flush is set; a whole answer goes out when the
// handler returns, in one write with its headers): the usage record is in the journal before the
// caller can have its whole answer, so a crash after that point loses no answered call. It
// reports whether the tail went out.
func (k *call) finishWith(rl *Relay, status int, u billing.Usage, charge bool, tail []byte, flush bool) bool {
	k.rec.StatusCode = status
	now := time.Now() // one clock read for both
	k.rec.Duration, k.rec.At = now.Sub(k.start), now
	if charge {
		k.rec.PromptTokens, k.rec.CompletionTokens, k.rec.CachedTokens = u.PromptTokens, u.CompletionTokens, u.CachedTokens
		k.rec.CacheWrite5mTokens, k.rec.CacheWrite1hTokens, k.rec.ReasoningTokens = u.CacheWrite5mTokens, u.CacheWrite1hTokens, u.ReasoningTokens
		if k.priced {
			k.rec.Quota = k.mult.charge(billing.Cost(k.price, u), k.cl.user, k.rec.ChannelID, k.req.Model)
		}
		rl.keys.charge(k.cl.user, k.rec.Quota)
		k.cl.limits.charge(k.rec.Quota)
	}
	var cost int64
	if charge {
		cost = k.rec.Quota
	}
	k.release(rl, charge, k.rec.PromptTokens+k.rec.CompletionTokens, cost)
	rl.d.Usage.Add(k.rec)
	sent := false
	if len(tail) > 0 {
		_, err := k.w.Write(tail)
		sent = err == nil
		flush = flush || (sent && k.req.Stream)
	}
	if flush {
		k.flush()
	}
	if charge && status == http.StatusOK {
		rl.afterSuccess(k) // notify hooks, queued off the caller's path (hooks.go)
	}
	return sent
}

// readBody reads the request body once, bounded by MAX_BODY_BYTES, into a pooled buffer, bp,
// which the caller returns to rl.bufs once done with the body.
func (rl *Relay) readBody(r *http.Request) (body []byte, bp *[]byte, err error) {
	if r.ContentLength > rl.d.MaxBodyBytes {
		return nil, nil, fault.Code(fault.TooLarge, "body_too_large", "request body is too large")
	}
	bp = rl.buf()
	body, err = readLimited((*bp)[:0], r.Body, rl.d.MaxBodyBytes+1)
	*bp = body[:0]
	if err != nil {
		rl.bufs.Put(bp)
		return nil, nil, fault.Wrap(fault.Invalid, "could not read the request body", err)
	}
	if int64(len(body)) > rl.d.MaxBodyBytes {
		rl.bufs.Put(bp)
		return nil, nil, fault.Code(fault.TooLarge, "body_too_large", "request body is too large")
	}
	return body, bp, nil
}

// readLimited appends what r holds to dst, up to limit bytes (io.LimitReader's bound without
// its allocation), growing dst as bytes.Buffer.ReadFrom would. It returns the bytes read even
// with an error; reaching the end of r is no error.
func readLimited(dst []byte, r io.Reader, limit int64) ([]byte, error) {
	for int64(len(dst)) < limit {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(bytes.MinRead, cap(dst)))
		}
		end := cap(dst)
		if left := limit - int64(len(dst)); int64(end-len(dst)) > left {
			end = len(dst) + int(left)
		}
		n, err := r.Read(dst[len(dst):end])
		dst = dst[:len(dst)+n]
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// newCall takes a call's state from the pool. Nothing outlives Serve that points into it: the
// usage record goes to the recorder by value, hooks copy what they send, and the writers
// wrapped around the caller's (firstByte, answerCapture) are only used through k.
func (rl *Relay) newCall() *call {
	if k, ok := rl.calls.Get().(*call); ok {
		return k
	}
	return new(call)
}

// putCall returns k to the pool, emptied so that it keeps no body or request alive.
func (rl *Relay) putCall(k *call) {
	*k = call{}
	rl.calls.Put(k)
}

func (rl *Relay) buf() *[]byte {
	if bp, ok := rl.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

func (rl *Relay) reader(r io.Reader) *bufio.Reader {
	if br, ok := rl.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 16<<10)
}

var usageNull = []byte(`,"usage":null`)

// doneEvent is a stream's end marker as relayed; it is only ever written, never changed.
var doneEvent = []byte("data: [DONE]\n\n")

// hasUsage reports whether a stream chunk carries a usage object (not "usage": null), without
// parsing it.
func hasUsage(payload []byte) bool {
	i := bytes.Index(payload, []byte(`"usage"`))
	if i < 0 {
		return false
	}
	for _, c := range payload[i+len(`"usage"`):] {
		switch c {
		case ' ', '\t', '\r', '\n', ':':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}
