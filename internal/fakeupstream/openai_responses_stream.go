package fakeupstream

import (
	"net/http"
	"strconv"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// respEvents writes the Responses API's typed server-sent events: an "event:" line, then the data
// with "type" and "sequence_number" first, flushing after each.
type respEvents struct {
	e   *sseWriter
	a   *respAnswer
	seq int
	// deltas counts the output_text deltas sent, for Reply.CutAfter.
	deltas int
}

// send writes one event; rest appends the members after "sequence_number", each led by a comma.
// It reports false when the client went away.
func (r *respEvents) send(typ string, rest func(b []byte) []byte) bool {
	if !r.e.begin() {
		return false
	}
	r.e.b = append(r.e.b[:0], "event: "...)
	r.e.b = append(r.e.b, typ...)
	r.e.b = append(r.e.b, "\ndata: {\"type\":\""...)
	r.e.b = append(r.e.b, typ...)
	r.e.b = append(r.e.b, `","sequence_number":`...)
	r.e.b = strconv.AppendInt(r.e.b, int64(r.seq), 10)
	r.e.b = rest(r.e.b)
	r.e.b = append(r.e.b, "}\n\n"...)
	r.seq++
	return r.e.send()
}

// response sends an event carrying the whole response object.
func (r *respEvents) response(typ, status string) bool {
	return r.send(typ, func(b []byte) []byte {
		b = append(b, `,"response":`...)
		return appendResponse(b, r.a, status)
	})
}

// itemEvent sends output_item.added or .done for the item at index.
func (r *respEvents) itemEvent(typ string, index int, item func(b []byte) []byte) bool {
	return r.send(typ, func(b []byte) []byte {
		b = append(b, `,"output_index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, `,"item":`...)
		return item(b)
	})
}

// itemRef appends the item_id and output_index members.
func itemRef(b []byte, id string, index int) []byte {
	b = append(b, `,"item_id":"`...)
	b = append(b, id...)
	b = append(b, `","output_index":`...)
	return strconv.AppendInt(b, int64(index), 10)
}

// delta sends a delta event of an item: key "delta", with content_index or summary_index when
// part is set, and the obfuscation padding the real API adds unless told not to.
func (r *respEvents) delta(typ, id string, index int, part, delta string) bool {
	return r.send(typ, func(b []byte) []byte {
		b = itemRef(b, id, index)
		b = append(b, part...)
		b = append(b, `,"delta":`...)
		b = jsonx.AppendString(b, delta)
		if typ == "response.output_text.delta" {
			b = append(b, `,"logprobs":[]`...)
		}
		if r.a.req.obfuscation {
			b = append(b, `,"obfuscation":"`...)
			b = appendID(b, 4+len(delta)%12)
			b = append(b, '"')
		}
		return b
	})
}

// responsesStream answers a Responses API call as its event stream: response.created and
// .in_progress, then each output item (reasoning summary, message text one delta per word,
// function calls with their arguments in two pieces) and response.completed with the usage.
func (o *openAI) responsesStream(x *exchange, a *respAnswer) {
	h := x.w.Header()
	o.commonHeaders(h, hdrSSE)
	setDefault(h, "Cache-Control", hdrNoCache)
	x.w.WriteHeader(http.StatusOK)
	e := &sseWriter{x: x, rc: http.NewResponseController(x.w), b: x.scratch.out[:0], delay: x.reply.EventDelay}
	defer func() { x.scratch.out = e.b }()
	r := &respEvents{e: e, a: a}

	if !r.response("response.created", "in_progress") {
		return
	}
	if x.reply.CutAfter < 0 {
		abort(x.w)
		return
	}
	if !r.response("response.in_progress", "in_progress") {
		return
	}
	index := 0
	if a.reasoningID != "" {
		if !r.reasoning(index) {
			return
		}
		index++
	}
	if a.messageID != "" {
		if !r.message(index, x) {
			return
		}
		index++
	}
	if x.reply.CutAfter > 0 {
		abort(x.w)
		return
	}
	for i := range a.calls {
		if !r.functionCall(index, i) {
			return
		}
		index++
	}
	r.response("response.completed", "completed")
}

// reasoning streams the reasoning item: its summary part, one delta per word, then the done events.
func (r *respEvents) reasoning(index int) bool {
	a := r.a
	id := a.reasoningID
	const part = `,"summary_index":0`
	ok := r.itemEvent("response.output_item.added", index, func(b []byte) []byte {
		return appendReasoningItem(b, id, "", false)
	}) && r.send("response.reasoning_summary_part.added", func(b []byte) []byte {
		b = append(itemRef(b, id, index), part+`,"part":`...)
		return appendSummaryPart(b, "")
	})
	for rest := a.thinking; ok && rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		ok = r.delta("response.reasoning_summary_text.delta", id, index, part, word)
	}
	return ok && r.send("response.reasoning_summary_text.done", func(b []byte) []byte {
		b = append(itemRef(b, id, index), part+`,"text":`...)
		return jsonx.AppendString(b, a.thinking)
	}) && r.send("response.reasoning_summary_part.done", func(b []byte) []byte {
		b = append(itemRef(b, id, index), part+`,"part":`...)
		return appendSummaryPart(b, a.thinking)
	}) && r.itemEvent("response.output_item.done", index, func(b []byte) []byte {
		return appendReasoningItem(b, id, a.thinking, true)
	})
}

// message streams the message item: its output_text part, one delta per word (the stream is cut
// per Reply.CutAfter), then the done events.
func (r *respEvents) message(index int, x *exchange) bool {
	a := r.a
	id := a.messageID
	const part = `,"content_index":0`
	ok := r.itemEvent("response.output_item.added", index, func(b []byte) []byte {
		return appendMessageItem(b, id, "", false)
	}) && r.send("response.content_part.added", func(b []byte) []byte {
		b = append(itemRef(b, id, index), part+`,"part":`...)
		return appendOutputText(b, "")
	})
	for rest := a.text; ok && rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		ok = r.delta("response.output_text.delta", id, index, part, word)
		if r.deltas++; ok && x.reply.CutAfter > 0 && r.deltas >= x.reply.CutAfter {
			abort(x.w)
			return false
		}
	}
	if !ok || x.reply.CutAfter > 0 {
		return ok // cut after the last word by the caller
	}
	return r.send("response.output_text.done", func(b []byte) []byte {
		b = append(itemRef(b, id, index), part+`,"text":`...)
		b = jsonx.AppendString(b, a.text)
		return append(b, `,"logprobs":[]`...)
	}) && r.send("response.content_part.done", func(b []byte) []byte {
		b = append(itemRef(b, id, index), part+`,"part":`...)
		return appendOutputText(b, a.text)
	}) && r.itemEvent("response.output_item.done", index, func(b []byte) []byte {
		return appendMessageItem(b, id, a.text, true)
	})
}

// functionCall streams the i-th function_call item, its arguments in two deltas.
func (r *respEvents) functionCall(index, i int) bool {
	a := r.a
	id, tc := a.callIDs[i], a.calls[i]
	ok := r.itemEvent("response.output_item.added", index, func(b []byte) []byte {
		return appendFunctionCallItem(b, id, tc, i, false)
	})
	half := len(tc.Args) / 2
	for _, piece := range []string{tc.Args[:half], tc.Args[half:]} {
		ok = ok && r.delta("response.function_call_arguments.delta", id, index, "", piece)
	}
	return ok && r.send("response.function_call_arguments.done", func(b []byte) []byte {
		b = append(itemRef(b, id, index), `,"arguments":`...)
		return jsonx.AppendString(b, tc.Args)
	}) && r.itemEvent("response.output_item.done", index, func(b []byte) []byte {
		return appendFunctionCallItem(b, id, tc, i, true)
	})
}
