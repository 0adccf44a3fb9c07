package fakeupstream

import (
	"net/http"
	"strconv"
	"time"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// sseWriter writes server-sent events built in a reused buffer, flushing after each.
type sseWriter struct {
	x     *exchange
	rc    *http.ResponseController
	b     []byte
	head  int    // length of the chunk prefix kept at the start of b
	tail  string // closes a chunk that carries no usage
	delay time.Duration
	sent  int
}

// begin starts a chunk event after the event delay (none before the first event). It reports
// false when the client went away.
func (e *sseWriter) begin() bool {
	if e.sent > 0 && !sleep(e.x.r.Context(), e.delay) {
		return false
	}
	e.b = e.b[:e.head]
	return true
}

// send writes and flushes the event in b.
func (e *sseWriter) send() bool {
	if _, err := e.x.w.Write(e.b); err != nil {
		return false
	}
	_ = e.rc.Flush()
	e.sent++
	return true
}

// chunk sends a chunk event whose single choice is choice.
func (e *sseWriter) chunk(choice string) bool {
	if !e.begin() {
		return false
	}
	e.b = append(e.b, choice...)
	e.b = append(e.b, e.tail...)
	return e.send()
}

const (
	choiceRole       = `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`
	choiceFinish     = `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`
	choiceToolFinish = `{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}`
	contentOpen      = `{"index":0,"delta":{"content":`
	contentClose     = `},"logprobs":null,"finish_reason":null}`
	sseDone          = "data: [DONE]\n\n"
	tailNoUsage      = "]}\n\n"
	tailNullUsage    = `],"usage":null}` + "\n\n"
)

// stream answers a chat completion as chat.completion.chunk events: the role, one event per word,
// the finish reason, the usage (only when asked with stream_options.include_usage) and [DONE].
func (o *openAI) stream(x *exchange, req *chatRequest, text string, usage Usage) {
	rep := x.reply
	h := x.w.Header()
	o.commonHeaders(h, hdrSSE)
	setDefault(h, "Cache-Control", hdrNoCache)
	x.w.WriteHeader(http.StatusOK)

	b := x.scratch.out[:0]
	b = append(b, `data: {"id":"chatcmpl-`...)
	b = appendID(b, 29)
	b = append(b, `","object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	b = append(b, `,"model":`...)
	b = append(b, req.model.Raw...)
	b = append(b, `,"service_tier":"default","system_fingerprint":"`+systemFingerprint+`","choices":[`...)
	e := &sseWriter{x: x, rc: http.NewResponseController(x.w), b: b, head: len(b), tail: tailNoUsage, delay: rep.EventDelay}
	defer func() { x.scratch.out = e.b }()
	if req.includeUsage {
		e.tail = tailNullUsage
	}

	if !e.chunk(choiceRole) {
		return
	}
	if rep.CutAfter < 0 {
		abort(x.w)
		return
	}
	for rest := rep.Thinking; rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		if !e.begin() {
			return
		}
		e.b = append(e.b, `{"index":0,"delta":{"reasoning_content":`...)
		e.b = jsonx.AppendString(e.b, word)
		e.b = append(e.b, contentClose...)
		e.b = append(e.b, e.tail...)
		if !e.send() {
			return
		}
	}
	n := 0
	for rest := text; rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		if !e.begin() {
			return
		}
		e.b = append(e.b, contentOpen...)
		e.b = jsonx.AppendString(e.b, word)
		e.b = append(e.b, contentClose...)
		e.b = append(e.b, e.tail...)
		if !e.send() {
			return
		}
		if n++; rep.CutAfter > 0 && n >= rep.CutAfter {
			abort(x.w)
			return
		}
	}
	if rep.CutAfter > 0 {
		abort(x.w)
		return
	}
	for i, tc := range rep.ToolCalls {
		half := len(tc.Args) / 2
		for j, piece := range []string{tc.Args[:half], tc.Args[half:]} {
			if !e.begin() {
				return
			}
			e.b = append(e.b, `{"index":0,"delta":{"tool_calls":[{"index":`...)
			e.b = strconv.AppendInt(e.b, int64(i), 10)
			if j == 0 {
				e.b = append(e.b, `,"id":`...)
				e.b = jsonx.AppendString(e.b, toolID(tc, "call_", i))
				e.b = append(e.b, `,"type":"function","function":{"name":`...)
				e.b = jsonx.AppendString(e.b, tc.Name)
				e.b = append(e.b, `,"arguments":`...)
			} else {
				e.b = append(e.b, `,"function":{"arguments":`...)
			}
			e.b = jsonx.AppendString(e.b, piece)
			e.b = append(e.b, `}}]},"logprobs":null,"finish_reason":null}`...)
			e.b = append(e.b, e.tail...)
			if !e.send() {
				return
			}
		}
	}
	finish := choiceFinish
	if len(rep.ToolCalls) > 0 {
		finish = choiceToolFinish
	}
	if !e.chunk(finish) {
		return
	}
	if req.includeUsage && !rep.OmitUsage {
		if !e.begin() {
			return
		}
		e.b = append(e.b, `],"usage":`...)
		e.b = appendUsage(e.b, usage)
		e.b = append(e.b, "}\n\n"...)
		if !e.send() {
			return
		}
	}
	if e.begin() {
		e.b = append(e.b[:0], sseDone...)
		e.send()
	}
}
