package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/provider/openai"
)

// maxResponseBytes bounds a non-streamed upstream answer.
const maxResponseBytes = 64 << 20

// StatusClientClosed is logged for calls whose caller went away before an answer.
const StatusClientClosed = 499

// ChatCompletionCreate relays an OpenAI chat completion.
func (g *Gateway) ChatCompletionCreate(c echo.Context) error {
	return g.relay(c, "/v1/chat/completions", "/chat/completions")
}

// call is the state of one gateway call.
type call struct {
	c        echo.Context
	cl       caller
	req      openai.Request
	price    billing.Price
	priced   bool
	rec      billing.Record
	start    time.Time
	estimate int64 // prompt token estimate, used when the upstream reports no usage
}

func (g *Gateway) relay(c echo.Context, endpoint, upstreamPath string) error {
	start := time.Now()
	cl, _ := c.Get(callerKey).(caller)
	body, release, err := g.readBody(c)
	if err != nil {
		return err
	}
	defer release()
	req, ok := openai.ParseRequest(body)
	if !ok {
		return fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
	}
	if req.Model == "" {
		return fault.Code(fault.Invalid, "missing_model", "you must provide a model parameter (a string)")
	}
	ctx := c.Request().Context()
	snap, err := g.routes.get(ctx)
	if err != nil {
		return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	rt := snap.routes[req.Model]
	if rt == nil {
		return fault.Code(fault.NotFound, "model_not_found",
			"The model `"+req.Model+"` does not exist or you do not have access to it.")
	}
	price, priced := snap.prices[req.Model]
	if !priced && !g.d.Settings.Get().AllowUnpricedModels {
		return fault.Code(fault.Forbidden, "model_not_priced", "model "+req.Model+" has no price configured")
	}
	if priced && cl.user.balance.Load() <= 0 && (price.Input > 0 || price.Output > 0) {
		return fault.Code(fault.PaymentRequired, "insufficient_quota", "insufficient balance; top up your quota")
	}
	upBody := body
	if req.Stream && !req.IncludeUsage {
		if upBody, err = openai.WithStreamUsage(body); err != nil {
			return fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
		}
	}
	k := &call{c: c, cl: cl, req: req, price: price, priced: priced, start: start,
		estimate: int64(len(body)/4 + 1),
		rec: billing.Record{RequestID: c.Response().Header().Get(httpx.HeaderRequestID), UserID: cl.user.id,
			APIKeyID: cl.keyID, Model: req.Model, Endpoint: endpoint, Stream: req.Stream}}

	var last *http.Response
	var lastErr error
	var lastAcc *account
	for _, acc := range rt.plan(g.d.MaxAttempts) {
		if ctx.Err() != nil {
			break
		}
		resp, err := g.send(ctx, acc, upstreamPath, upBody, req.Stream)
		if last != nil {
			last.Body.Close()
		}
		last, lastErr, lastAcc = resp, err, acc
		if err != nil {
			g.d.Log.Warn("upstream unreachable; trying another account", "request_id", k.rec.RequestID,
				"account_id", acc.id, "error", err)
			continue
		}
		if resp.StatusCode == http.StatusOK {
			k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
			if req.Stream {
				return g.commitStream(k, resp)
			}
			return g.commitJSON(k, resp)
		}
		if !retryable(resp.StatusCode) {
			return g.relayError(k, acc, resp)
		}
		g.d.Log.Warn("upstream refused; trying another account", "request_id", k.rec.RequestID,
			"account_id", acc.id, "status", resp.StatusCode)
	}
	if last != nil {
		defer last.Body.Close()
	}
	return g.fail(k, lastAcc, last, lastErr, ctx.Err() != nil)
}

// retryable reports whether another account may succeed where this one failed: rate limits,
// server errors, and credential problems of this account.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 ||
		status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusPaymentRequired
}

func (g *Gateway) send(ctx context.Context, acc *account, path string, body []byte, stream bool) (*http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, acc.channel.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+acc.credential)
	r.Header.Set("Content-Type", "application/json")
	if stream {
		r.Header.Set("Accept", "text/event-stream")
	} else {
		r.Header.Set("Accept", "application/json")
	}
	r.Header.Set("User-Agent", "Poolgate/0.1")
	return g.client.Do(r)
}

// fail answers when no account produced an answer, and logs the call uncharged.
func (g *Gateway) fail(k *call, acc *account, last *http.Response, lastErr error, clientGone bool) error {
	var fe *fault.Error
	switch {
	case clientGone:
		k.finish(g, StatusClientClosed, billing.Usage{}, false)
		return nil
	case last == nil && lastErr == nil:
		fe = fault.Code(fault.Unavailable, "no_available_account", "no upstream account is available for this model")
	case last == nil:
		fe = fault.Code(fault.Upstream, "upstream_error", "the upstream provider could not be reached")
	case last.StatusCode == http.StatusTooManyRequests:
		if ra := last.Header.Get("Retry-After"); ra != "" {
			k.c.Response().Header().Set("Retry-After", ra)
		}
		fe = fault.Code(fault.RateLimited, "rate_limit_exceeded", "all upstream accounts for this model are rate-limited; retry later")
	case last.StatusCode == http.StatusUnauthorized || last.StatusCode == http.StatusForbidden || last.StatusCode == http.StatusPaymentRequired:
		fe = fault.Code(fault.Unavailable, "no_available_account", "no upstream account for this model is usable right now")
	default:
		fe = fault.Code(fault.Upstream, "upstream_error", "the upstream provider failed to answer")
	}
	if acc != nil {
		k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
	}
	k.finish(g, fe.Status(), billing.Usage{}, false)
	return fe
}

// relayError passes a caller error (400, 404, 422, ...) from the upstream back in OpenAI's shape,
// with the account's credential scrubbed from the message.
func (g *Gateway) relayError(k *call, acc *account, resp *http.Response) error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg, typ, code := openai.ErrorOf(raw)
	if msg == "" {
		msg = "the upstream provider rejected the request (HTTP " + strconv.Itoa(resp.StatusCode) + ")"
	}
	msg = openai.Redact(msg, acc.credential)
	if typ == "" {
		typ = "invalid_request_error"
	}
	if code == "" {
		code = "upstream_" + strconv.Itoa(resp.StatusCode)
	}
	k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
	k.finish(g, resp.StatusCode, billing.Usage{}, false)
	return k.c.JSON(resp.StatusCode, openAIError{Error: openAIErrorBody{Message: msg, Type: typ, Code: code}})
}

// commitJSON relays a non-streamed answer unchanged and charges its usage.
func (g *Gateway) commitJSON(k *call, resp *http.Response) error {
	defer resp.Body.Close()
	bp := g.buf()
	defer g.bufs.Put(bp)
	buf := bytes.NewBuffer((*bp)[:0])
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes))
	*bp = buf.Bytes()[:0]
	if err != nil {
		return g.fail(k, nil, nil, err, k.c.Request().Context().Err() != nil)
	}
	out := buf.Bytes()
	w := k.c.Response()
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, werr := w.Write(out)
	u, ok := openai.UsageOf(out)
	usage := billing.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, CachedTokens: u.CachedTokens}
	if !ok {
		usage = billing.Usage{PromptTokens: k.estimate, CompletionTokens: int64(len(out)/4 + 1)}
	}
	status := http.StatusOK
	if werr != nil {
		status = StatusClientClosed
	}
	k.finish(g, status, usage, true)
	return nil
}

// commitStream relays an SSE stream event by event, reading usage from the final chunk. The usage
// chunk is withheld when the caller did not ask for it. A stream the upstream cuts short ends with
// an error event; a caller that goes away is charged for what was generated (the reported usage,
// or an estimate when the upstream never reported it).
func (g *Gateway) commitStream(k *call, resp *http.Response) error {
	defer resp.Body.Close()
	w := k.c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Flush()

	br := g.reader(resp.Body)
	defer g.readers.Put(br)
	var (
		usage     billing.Usage
		haveUsage bool
		done      bool
		streamed  int
		skipBlank bool
		clientErr error
		readErr   error
	)
	write := func(b []byte) {
		if clientErr == nil {
			_, clientErr = w.Write(b)
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: forward it in pieces without inspecting it.
			streamed += len(line)
			write(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				streamed += len(line)
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
					if clientErr == nil {
						w.Flush()
					}
				}
			case bytes.HasPrefix(trimmed, []byte("data:")):
				payload := bytes.TrimSpace(trimmed[5:])
				if bytes.Equal(payload, []byte("[DONE]")) {
					done = true
					write(line)
					break
				}
				if bytes.Contains(payload, []byte(`"usage"`)) {
					if u, ok := openai.UsageOf(payload); ok {
						usage = billing.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, CachedTokens: u.CachedTokens}
						haveUsage = true
						if !k.req.IncludeUsage && openai.IsUsageOnlyChunk(payload) {
							skipBlank = true
							break
						}
					}
				}
				streamed += openai.ContentLen(payload)
				write(line)
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
		if clientErr != nil {
			break
		}
	}
	status := http.StatusOK
	switch {
	case clientErr != nil || k.c.Request().Context().Err() != nil:
		status = StatusClientClosed
	case !done:
		g.d.Log.Warn("upstream stream ended early", "request_id", k.rec.RequestID, "account_id", k.rec.AccountID, "error", readErr)
		write([]byte(`data: {"error":{"message":"the upstream stream was interrupted before it finished","type":"upstream_error","param":null,"code":"stream_interrupted"}}` + "\n\n"))
		w.Flush()
		status = http.StatusBadGateway
	}
	if !haveUsage {
		usage = billing.Usage{PromptTokens: k.estimate, CompletionTokens: int64(streamed/4 + 1)}
	}
	k.finish(g, status, usage, true)
	return nil
}

// finish prices and records the call. Only calls that reached an upstream answer are charged.
func (k *call) finish(g *Gateway, status int, u billing.Usage, charge bool) {
	k.rec.StatusCode = status
	k.rec.Duration = time.Since(k.start)
	k.rec.At = time.Now()
	if charge {
		k.rec.PromptTokens, k.rec.CompletionTokens, k.rec.CachedTokens = u.PromptTokens, u.CompletionTokens, u.CachedTokens
		if k.priced {
			k.rec.Quota = billing.Cost(k.price, u)
		}
		g.keys.charge(k.cl.user, k.rec.Quota)
	}
	g.d.Usage.Add(k.rec)
}

// readBody reads the request body once, bounded by MAX_BODY_BYTES, into a pooled buffer.
func (g *Gateway) readBody(c echo.Context) ([]byte, func(), error) {
	r := c.Request()
	if r.ContentLength > g.d.MaxBodyBytes {
		return nil, func() {}, fault.Code(fault.TooLarge, "body_too_large", "request body is too large")
	}
	bp := g.buf()
	buf := bytes.NewBuffer((*bp)[:0])
	_, err := buf.ReadFrom(io.LimitReader(r.Body, g.d.MaxBodyBytes+1))
	release := func() { *bp = buf.Bytes()[:0]; g.bufs.Put(bp) }
	if err != nil {
		release()
		return nil, func() {}, fault.Wrap(fault.Invalid, "could not read the request body", err)
	}
	if int64(buf.Len()) > g.d.MaxBodyBytes {
		release()
		return nil, func() {}, fault.Code(fault.TooLarge, "body_too_large", "request body is too large")
	}
	return buf.Bytes(), release, nil
}

func (g *Gateway) buf() *[]byte {
	if bp, ok := g.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 16<<10)
	return &b
}

func (g *Gateway) reader(r io.Reader) *bufio.Reader {
	if br, ok := g.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 64<<10)
}
