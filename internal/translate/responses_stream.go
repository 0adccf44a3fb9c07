package translate

import (
	"net/http"
	"strconv"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// responsesEncoder writes an OpenAI Responses API event stream. Each output item (reasoning
// summary, message, function call) is opened when its first event arrives and closed when another
// kind starts or the answer ends; deltas go out as they arrive. The final response.completed
// carries the whole response object, so the encoder keeps the answer's output items (the text the
// caller was sent, never the upstream stream) until then.
type responsesEncoder struct {
	o       EncoderOptions
	id      string
	started bool
	seq     int64
	items   []respItem
	open    bool // the last item is still open
	tool    int  // the open function call's canonical index
	stop    StopReason
	usage   Usage
	w       jw
}

// NewResponsesEncoder returns the stream encoder of an OpenAI Responses API caller.
func NewResponsesEncoder(o EncoderOptions) StreamEncoder {
	return &responsesEncoder{o: o}
}

// event appends one server-sent event named typ; body writes the members after "type" and
// "sequence_number".
func (e *responsesEncoder) event(dst []byte, typ string, body func(w *jw)) []byte {
	w := &e.w
	w.b, w.comma, w.afterKey = w.b[:0], w.comma[:0], false
	w.obj()
	w.kStr("type", typ)
	w.kInt("sequence_number", e.seq)
	e.seq++
	body(w)
	w.end()
	return AppendSSE(dst, typ, w.b)
}

// answer is the response object as it stands.
func (e *responsesEncoder) answer(status string) *respAnswer {
	for i := range e.items {
		e.items[i].settle()
	}
	a := &respAnswer{id: e.id, model: e.o.Model, created: e.o.Created, status: status, items: e.items, stop: e.stop}
	if status != "in_progress" {
		u := e.usage
		a.usage = &u
	}
	return a
}

// responseEvent appends an event carrying the whole response object.
func (e *responsesEncoder) responseEvent(dst []byte, typ string, a *respAnswer) []byte {
	return e.event(dst, typ, func(w *jw) {
		w.key("response")
		appendResponsesObject(w, a)
	})
}

func (e *responsesEncoder) start(dst []byte, id string) []byte {
	e.started = true
	e.id = responsesID(id)
	a := &respAnswer{id: e.id, model: e.o.Model, created: e.o.Created, status: "in_progress"}
	dst = e.responseEvent(dst, "response.created", a)
	return e.responseEvent(dst, "response.in_progress", a)
}

// openItem closes the open item and opens a new one of kind.
func (e *responsesEncoder) openItem(dst []byte, it respItem) []byte {
	dst = e.closeItem(dst)
	e.items = append(e.items, it)
	e.open = true
	idx := int64(len(e.items) - 1)
	last := &e.items[idx]
	dst = e.event(dst, "response.output_item.added", func(w *jw) {
		w.kInt("output_index", idx)
		w.key("item")
		appendResponsesItem(w, last, "in_progress")
	})
	switch it.kind {
	case Thinking:
		dst = e.event(dst, "response.reasoning_summary_part.added", func(w *jw) {
			e.itemRef(w)
			w.kInt("summary_index", 0)
			w.key("part")
			w.rawS(`{"type":"summary_text","text":""}`)
		})
	case Text:
		dst = e.event(dst, "response.content_part.added", func(w *jw) {
			e.itemRef(w)
			w.kInt("content_index", 0)
			w.key("part")
			w.rawS(`{"type":"output_text","text":"","annotations":[],"logprobs":[]}`)
		})
	}
	return dst
}

// itemRef writes item_id and output_index of the open (last) item.
func (e *responsesEncoder) itemRef(w *jw) {
	w.kStr("item_id", e.items[len(e.items)-1].id)
	w.kInt("output_index", int64(len(e.items)-1))
}

// closeItem writes the closing events of the open item, if any.
func (e *responsesEncoder) closeItem(dst []byte) []byte {
	if !e.open {
		return dst
	}
	e.open = false
	idx := int64(len(e.items) - 1)
	it := &e.items[idx]
	it.settle()
	switch it.kind {
	case Thinking:
		dst = e.event(dst, "response.reasoning_summary_text.done", func(w *jw) {
			e.itemRef(w)
			w.kInt("summary_index", 0)
			w.kStr("text", it.text)
		})
		dst = e.event(dst, "response.reasoning_summary_part.done", func(w *jw) {
			e.itemRef(w)
			w.kInt("summary_index", 0)
			w.key("part")
			w.obj()
			w.kStr("type", "summary_text")
			w.kStr("text", it.text)
			w.end()
		})
	case Text:
		dst = e.event(dst, "response.output_text.done", func(w *jw) {
			e.itemRef(w)
			w.kInt("content_index", 0)
			w.kStr("text", it.text)
			w.key("logprobs")
			w.rawS("[]")
		})
		dst = e.event(dst, "response.content_part.done", func(w *jw) {
			e.itemRef(w)
			w.kInt("content_index", 0)
			w.key("part")
			appendResponsesText(w, it.text)
		})
	case ToolCall:
		it.text = string(validArgs([]byte(it.text)))
		dst = e.event(dst, "response.function_call_arguments.done", func(w *jw) {
			e.itemRef(w)
			w.kStr("name", it.name)
			w.kStr("arguments", it.text)
		})
	}
	return e.event(dst, "response.output_item.done", func(w *jw) {
		w.kInt("output_index", idx)
		w.key("item")
		appendResponsesItem(w, it, "completed")
	})
}

// openKind reports whether the open item is of kind k.
func (e *responsesEncoder) openKind(k PartKind) bool {
	return e.open && e.items[len(e.items)-1].kind == k
}

func (e *responsesEncoder) Encode(dst []byte, ev *Event) []byte {
	if !e.started && ev.Kind != EvUsage && ev.Kind != EvStop && ev.Kind != EvPing {
		dst = e.start(dst, ev.ID)
	}
	switch ev.Kind {
	case EvText:
		if ev.Text == "" {
			return dst
		}
		if !e.openKind(Text) {
			dst = e.openItem(dst, respItem{kind: Text, id: responsesItemID("msg_", e.id, len(e.items))})
		}
		it := &e.items[len(e.items)-1]
		it.acc = append(it.acc, ev.Text...)
		dst = e.textDelta(dst, ev.Text)
	case EvThinking:
		if ev.Text == "" {
			return dst
		}
		if !e.openKind(Thinking) {
			dst = e.openItem(dst, respItem{kind: Thinking, id: responsesItemID("rs_", e.id, len(e.items))})
		}
		it := &e.items[len(e.items)-1]
		it.acc = append(it.acc, ev.Text...)
		dst = e.event(dst, "response.reasoning_summary_text.delta", func(w *jw) {
			e.itemRef(w)
			w.kInt("summary_index", 0)
			w.kStr("delta", ev.Text)
		})
	case EvToolStart:
		e.tool = ev.Index
		dst = e.openItem(dst, respItem{kind: ToolCall, id: responsesItemID("fc_", e.id, len(e.items)), callID: idOr(ev.ID, "call_"), name: ev.Name})
	case EvToolArgs:
		if ev.Text == "" || !e.openKind(ToolCall) || e.tool != ev.Index {
			return dst
		}
		it := &e.items[len(e.items)-1]
		it.acc = append(it.acc, ev.Text...)
		dst = e.event(dst, "response.function_call_arguments.delta", func(w *jw) {
			e.itemRef(w)
			w.kStr("delta", ev.Text)
		})
	case EvUsage:
		e.usage = ev.Usage
	case EvStop:
		e.stop = ev.Stop
	}
	return dst
}

// textDelta appends a response.output_text.delta event; the most frequent event, written
// directly.
func (e *responsesEncoder) textDelta(dst []byte, text string) []byte {
	idx := len(e.items) - 1
	dst = append(dst, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":"...)
	dst = strconv.AppendInt(dst, e.seq, 10)
	e.seq++
	dst = append(dst, `,"item_id":`...)
	dst = jsonx.AppendString(dst, e.items[idx].id)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(idx), 10)
	dst = append(dst, `,"content_index":0,"delta":`...)
	dst = jsonx.AppendString(dst, text)
	return append(dst, ",\"logprobs\":[]}\n\n"...)
}

func (e *responsesEncoder) Finish(dst []byte) []byte {
	if !e.started {
		dst = e.start(dst, "")
	}
	dst = e.closeItem(dst)
	status, _ := responsesStatus(e.stop)
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	return e.responseEvent(dst, typ, e.answer(status))
}

// Fail ends the stream with an error event, then response.failed (the terminal event clients
// wait for) carrying what was generated and the usage known so far.
func (e *responsesEncoder) Fail(dst []byte, status int, message string) []byte {
	if !e.started {
		dst = e.start(dst, "")
	}
	code := responsesErrorCode(status)
	dst = e.event(dst, "error", func(w *jw) {
		w.kStr("code", code)
		w.kStr("message", message)
		w.key("param")
		w.null()
	})
	a := e.answer("failed")
	a.errCode, a.errMsg = "server_error", message
	if status == http.StatusTooManyRequests {
		a.errCode = "rate_limit_exceeded"
	}
	return e.responseEvent(dst, "response.failed", a)
}

// responsesErrorCode is the error event's code for an HTTP status.
func responsesErrorCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case http.StatusBadGateway:
		return "stream_interrupted"
	}
	return "server_error"
}
