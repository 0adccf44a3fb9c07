package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/provider"
	"github.com/poolgate/poolgate/internal/translate"
)

// maxEventBytes bounds one streamed event; memory per open stream stays bounded by it.
const maxEventBytes = 16 << 20

// commit answers the caller from an upstream's 200: the OpenAI chat and completion pass-through
// keeps its dedicated fast path (raw bytes), other same-protocol calls are relayed unchanged, and
// calls across protocols are translated (streams event by event).
func (rl *Relay) commit(k *call, acc *account, resp *http.Response) error {
	up, _ := adapterOf(acc) // send refused accounts without an adapter
	same := up.Protocol() == k.ep.in
	switch {
	case same && k.ep.in == translate.OpenAI && k.req.Stream && (k.ep.op == opChat || k.ep.op == opCompletion):
		return rl.commitStream(k, resp)
	case same && !k.req.Stream:
		return rl.commitJSON(k, resp)
	case !k.req.Stream:
		return rl.commitTranslated(k, up, resp)
	}
	return rl.commitEvents(k, up, resp)
}

// answerMembers are the names of a same-protocol answer's top-level members that its usage is
// read from (see answerUsage): the usage, and an image answer's images.
func (ep *Endpoint) answerMembers() *[2]string {
	if ep.in == translate.Gemini {
		return &geminiAnswerMembers
	}
	return &answerMembers
}

var (
	answerMembers       = [2]string{translate.UsageMember(translate.OpenAI), "data"}
	geminiAnswerMembers = [2]string{translate.UsageMember(translate.Gemini), "data"}
)

// answerUsage reads the usage of a same-protocol answer, out, from its members named by
// answerMembers (usage and data; zero Results when the answer is not an object); charge is false
// for calls that are never charged (token counts).
func (k *call) answerUsage(out []byte, usage, data gjson.Result) (billing.Usage, bool) {
	var bu billing.Usage
	ok := false
	switch k.ep.op {
	case opCount:
		return billing.Usage{}, false
	case opResponses, opImages: // OpenAI's newer endpoints name usage as the Responses API does
		bu, ok = translate.ResponsesUsage(usage)
	default:
		bu, ok = translate.UsageIn(k.ep.in, usage)
	}
	if !ok {
		completion := int64(len(out)/4 + 1)
		if k.ep.op == opEmbeddings || k.ep.op == opImages {
			completion = 0
		}
		bu = billing.Usage{PromptTokens: k.estimate, CompletionTokens: completion}
	}
	if k.ep.op == opImages {
		bu.Images = data.Get("#").Int() // priced per image
	}
	return bu, true
}

// readAnswer reads a non-streamed upstream answer, bounded, into a pooled buffer, bp, which the
// caller returns to rl.bufs once done with the answer.
func (rl *Relay) readAnswer(resp *http.Response) (raw []byte, bp *[]byte, err error) {
	bp = rl.buf()
	raw, err = readLimited((*bp)[:0], resp.Body, maxResponseBytes)
	*bp = raw[:0]
	return raw, bp, err
}

// commitTranslated converts a non-streamed answer to the caller's protocol.
func (rl *Relay) commitTranslated(k *call, up provider.Adapter, resp *http.Response) error {
	defer resp.Body.Close()
	raw, bp, err := rl.readAnswer(resp)
	defer rl.bufs.Put(bp)
	if err != nil {
		return rl.fail(k, nil, nil, err, k.ctx.Err() != nil)
	}
	r, err := up.DecodeResponse(raw)
	if err != nil {
		rl.d.Log.WarnContext(k.ctx, "upstream answer unreadable", "request_id", k.rec.RequestID, "account_id", k.rec.AccountID, "error", err)
		fe := fault.Code(fault.Upstream, "upstream_error", "the upstream provider sent an answer that could not be read")
		k.finish(rl, fe.Status(), billing.Usage{PromptTokens: k.estimate}, true)
		return fe
	}
	var out []byte
	if k.ep.op == opResponses {
		out = translate.EncodeResponsesResponse(r, k.req.Model, time.Now().Unix())
	} else {
		out = k.ep.adapter().EncodeResponse(r, k.req.Model, time.Now().Unix())
	}
	w := k.w
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	usage := r.Usage
	if !r.HasUsage {
		usage = billing.Usage{PromptTokens: k.estimate, CompletionTokens: int64(len(raw)/4 + 1)}
	}
	k.finishWith(rl, k.answeredStatus(), usage, true, out, false)
	return nil
}

// passFramer re-frames a same-protocol stream's events unchanged (Claude, Gemini, OpenAI
// Responses), as server-sent events or as Gemini's JSON array.
type passFramer struct {
	in    translate.Protocol
	array bool
	n     int
}

func (p *passFramer) frame(dst []byte, name string, data []byte) []byte {
	p.n++
	if p.array {
		if p.n == 1 {
			dst = append(dst, '[')
		} else {
			dst = append(dst, ",\r\n"...)
		}
		return append(dst, data...)
	}
	return translate.AppendSSE(dst, name, data)
}

func (p *passFramer) finish(dst []byte) []byte {
	if !p.array {
		return dst
	}
	if p.n == 0 {
		return append(dst, "[]"...)
	}
	return append(dst, ']')
}

// commitEvents relays or translates a stream event by event: each upstream event is decoded, and
// either forwarded unchanged (same protocol) or encoded in the caller's protocol, then written
// and flushed before the next is read. Usage comes from the upstream's events; a stream that
// ends before the upstream finished, or with an upstream error event, ends with the caller's
// protocol's error event and is logged 502, charged for what was generated.
func (rl *Relay) commitEvents(k *call, up provider.Adapter, resp *http.Response) error {
	defer resp.Body.Close()
	array := k.array
	var dec translate.StreamDecoder
	var responses *translate.ResponsesDecoder // a relayed Responses stream, continued on a cut
	if k.ep.op == opResponses && up.Protocol() == translate.OpenAI {
		responses = translate.NewResponsesDecoder()
		dec = responses
	} else {
		dec = up.NewStreamDecoder()
	}
	opts := translate.EncoderOptions{Model: k.req.Model, Created: time.Now().Unix(), IncludeUsage: k.req.IncludeUsage,
		GeminiArray: array}
	var enc translate.StreamEncoder
	var pass *passFramer
	if up.Protocol() == k.ep.in {
		pass = &passFramer{in: k.ep.in, array: array}
	} else {
		if k.ep.in == translate.Claude {
			ir := k.tr.ir
			if ir == nil && k.tr.fast != nil { // converted without it (translated): read for the count
				ir, _ = k.request(k.tr.fastSrc)
			}
			if ir != nil {
				opts.InputTokens = rl.tokens().Request(ir)
			}
		}
		if k.ep.op == opResponses {
			enc = translate.NewResponsesEncoder(opts)
		} else {
			enc = k.ep.adapter().NewStreamEncoder(opts)
		}
	}

	w := k.w
	h := w.Header()
	if array {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/event-stream")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	br := rl.reader(k.streamBody(resp.Body))
	defer rl.readers.Put(br)
	sr := sseReader{r: br}
	var (
		evs       []translate.Event
		out       []byte
		usage     translate.Usage
		haveUsage bool
		streamed  int
		upErr     string
		clientErr error
		readErr   error
		dirty     bool // written to the caller since the last flush
		ended     bool // the upstream's end marker was read; out holds its events, not yet written
	)
	clock := rl.forwardClockOf(&rl.fwdTranslated)
	if pass != nil {
		clock = rl.forwardClockOf(&rl.fwdRelayed)
	}
	for clientErr == nil && upErr == "" {
		name, data, err := sr.next()
		readAt := clock.now()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		evs, err = dec.Decode(evs[:0], data)
		if err != nil {
			readErr = err
			break
		}
		out = out[:0]
		for i := range evs {
			ev := &evs[i]
			switch ev.Kind {
			case translate.EvUsage:
				usage, haveUsage = ev.Usage, true
			case translate.EvText, translate.EvThinking, translate.EvToolArgs:
				streamed += len(ev.Text)
			case translate.EvError:
				upErr = ev.Text
				if upErr == "" {
					upErr = "the upstream provider failed mid-stream"
				}
			}
			if enc != nil && ev.Kind != translate.EvError {
				out = enc.Encode(out, ev)
			}
		}
		if pass != nil {
			out = pass.frame(out, name, data)
		}
		if len(out) > 0 {
			clock.written(readAt)
		}
		if dec.Ended() {
			// The answer is complete: its last events and the closing ones go out in one write,
			// once the call is recorded (finishWith).
			ended = true
			break
		}
		if len(out) > 0 {
			_, clientErr = w.Write(out)
			dirty = clientErr == nil
		}
		// Flush once the events already read are written: one write for a burst of events that
		// arrived together, and never a delay for the last one (as the same-protocol relay does).
		if dirty && br.Buffered() == 0 {
			k.flush()
			dirty = false
			clock.flushed()
		}
	}
	status := http.StatusOK
	if !ended {
		out = out[:0]
	}
	// A caller that hangs up right after the last event cancels the request context, but a
	// complete stream is still a success.
	complete := clientErr == nil && upErr == "" && dec.Done()
	switch {
	case clientErr != nil || (!complete && k.ctx.Err() != nil):
		status = StatusClientClosed
	case upErr != "" || !dec.Done():
		rl.d.Log.WarnContext(k.ctx, "upstream stream ended early", "request_id", k.rec.RequestID, "account_id", k.rec.AccountID,
			"error", readErr, "upstream_error", upErr)
		status = http.StatusBadGateway
		switch {
		case pass != nil && upErr != "":
			// The upstream's own error event, in the caller's protocol, was already forwarded.
			out = pass.finish(out)
		case pass != nil && responses != nil:
			// Continue the upstream's own event sequence: an error event, then response.failed
			// for the upstream's response.
			out = responses.Fail(out, "the upstream stream was interrupted before it finished")
		case pass != nil:
			out = k.ep.adapter().NewStreamEncoder(translate.EncoderOptions{GeminiArray: array}).
				Fail(out, http.StatusBadGateway, "the upstream stream was interrupted before it finished")
			if array && pass.n > 0 { // continue the array the framer opened
				out = append([]byte(",\r\n"), out[1:]...)
			}
		default:
			msg := "the upstream stream was interrupted before it finished"
			if upErr != "" {
				msg = "the upstream provider failed mid-stream: " + provider.Redact(upErr, "")
			}
			out = enc.Fail(out, http.StatusBadGateway, msg)
		}
	case enc != nil:
		out = enc.Finish(out)
	default:
		out = pass.finish(out)
	}
	bu, charge := usage, true
	if !haveUsage {
		bu = billing.Usage{PromptTokens: k.estimate, CompletionTokens: int64(streamed/4 + 1)}
	}
	if k.ep.op == opCount {
		bu, charge = billing.Usage{}, false
	}
	if status == StatusClientClosed {
		out, dirty = nil, false
	}
	// The last events (and anything written but not yet flushed) reach the caller only once
	// the call is recorded.
	if k.finishWith(rl, status, bu, charge, out, dirty) || dirty {
		clock.flushed()
	}
	if ended {
		// Read what follows the end marker (the chunked body's end), so that the upstream
		// connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(br, maxEventBytes))
	}
	return nil
}

// sseReader splits a server-sent event stream into events (name and data), line by line as the
// bytes arrive. Comments and events without data are skipped; an event longer than
// maxEventBytes is an error.
type sseReader struct {
	r    *bufio.Reader
	name []byte
	data []byte
	long []byte
}

func (s *sseReader) next() (string, []byte, error) {
	s.name, s.data = s.name[:0], s.data[:0]
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.long = append(s.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = s.r.ReadSlice('\n')
				s.long = append(s.long, line...)
				if len(s.long) > maxEventBytes {
					return "", nil, errors.New("upstream stream event too large")
				}
			}
			line = s.long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", nil, err
		}
		eof := err != nil
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if len(s.data) > 0 {
				return string(s.name), s.data, nil
			}
		case bytes.HasPrefix(line, []byte("data:")):
			v := line[5:]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if len(s.data) > 0 {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, v...)
			if len(s.data) > maxEventBytes {
				return "", nil, errors.New("upstream stream event too large")
			}
		case bytes.HasPrefix(line, []byte("event:")):
			s.name = append(s.name[:0], bytes.TrimSpace(line[6:])...)
		}
		if eof {
			if len(s.data) > 0 {
				return string(s.name), s.data, nil
			}
			return "", nil, io.EOF
		}
	}
}

// gjsonGet returns the raw JSON of an object field of body, or nil.
func gjsonGet(body []byte, path string) []byte {
	r := gjson.GetBytes(body, path)
	if !r.IsObject() {
		return nil
	}
	return []byte(r.Raw)
}
