package translate

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// openAIDecoder reads chat.completion.chunk events.
type openAIDecoder struct {
	started  bool
	done     bool
	finished bool
	tools    map[int64]bool // tool call indexes already opened
	// head is the start of the last text chunk the fast path read, up to its "choices" member:
	// the members every chunk of a stream repeats, checked once (openAIFastText).
	head []byte
}

func (d *openAIDecoder) Done() bool { return d.done || d.finished }

func (d *openAIDecoder) Ended() bool { return d.done }

func (d *openAIDecoder) Decode(dst []Event, payload []byte) ([]Event, error) {
	payload = bytes.TrimSpace(payload)
	if bytes.Equal(payload, []byte("[DONE]")) {
		d.done = true
		return dst, nil
	}
	// Most events of an answer are text deltas: read (and check) those, and the one with the
	// finish reason, without a parse.
	if d.started && !d.finished {
		if c, ok := openAIFastText(payload, d.head); ok {
			if c.head != len(d.head) || !bytes.Equal(payload[:c.head], d.head) {
				d.head = append(d.head[:0], payload[:c.head]...)
			}
			switch {
			case c.finish != "":
				d.finished = true
				dst = append(dst, Event{Kind: EvStop, Stop: openAIStop(c.finish)})
			case c.text != "":
				dst = append(dst, Event{Kind: EvText, Text: c.text})
			}
			return dst, nil
		}
	}
	return d.decodeFull(dst, payload)
}

// openAIChunkFields are the top-level members of a chunk that decodeFull reads.
var openAIChunkFields = [5]string{"error", "id", "model", "choices", "usage"}

// decodeFull reads any chunk with a full parse.
func (d *openAIDecoder) decodeFull(dst []Event, payload []byte) ([]Event, error) {
	// One validating pass over the top-level members, rather than a validation and then a scan
	// from the start of the payload per field read: this runs for several events of every
	// translated stream.
	var f [5]gjson.Result
	if !jsonx.ParseMembers(payload, openAIChunkFields[:], f[:]) {
		return dst, errorf("the upstream sent an invalid stream event")
	}
	errR, id, model, choices, usage := f[0], f[1], f[2], f[3], f[4]
	if errR.Exists() {
		msg := errR.Get("message").String()
		if errR.Type == gjson.String {
			msg = errR.Str
		}
		return append(dst, Event{Kind: EvError, Text: msg, ErrType: errR.Get("type").String()}), nil
	}
	if !d.started {
		d.started = true
		dst = append(dst, Event{Kind: EvStart, ID: id.String(), Model: model.String()})
	}
	var delta, finish gjson.Result
	choices.ForEach(func(_, ch gjson.Result) bool {
		ch.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "delta":
				delta = v
			case "finish_reason":
				finish = v
			}
			return true
		})
		return false // the first choice only
	})
	var reasoningContent, reasoning, content, refusal, toolCalls gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "reasoning_content":
			reasoningContent = v
		case "reasoning":
			reasoning = v
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "tool_calls":
			toolCalls = v
		}
		return true
	})
	rc := reasoningContent
	if !rc.Exists() {
		rc = reasoning
	}
	if rc.Type == gjson.String && rc.Str != "" {
		dst = append(dst, Event{Kind: EvThinking, Text: rc.Str})
	}
	if content.Type == gjson.String && content.Str != "" {
		dst = append(dst, Event{Kind: EvText, Text: content.Str})
	}
	if refusal.Type == gjson.String && refusal.Str != "" {
		dst = append(dst, Event{Kind: EvText, Text: refusal.Str})
	}
	toolCalls.ForEach(func(_, tc gjson.Result) bool {
		idx := tc.Get("index").Int()
		if d.tools == nil {
			d.tools = map[int64]bool{}
		}
		if !d.tools[idx] {
			d.tools[idx] = true
			dst = append(dst, Event{Kind: EvToolStart, Index: int(idx), ID: tc.Get("id").String(),
				Name: tc.Get("function.name").String()})
		}
		if a := tc.Get("function.arguments"); a.Str != "" {
			dst = append(dst, Event{Kind: EvToolArgs, Index: int(idx), Text: a.Str})
		}
		return true
	})
	if finish.Type == gjson.String && finish.Str != "" {
		d.finished = true
		dst = append(dst, Event{Kind: EvStop, Stop: openAIStop(finish.Str)})
	}
	if usage.IsObject() {
		dst = append(dst, Event{Kind: EvUsage, Usage: openAIUsage(usage)})
	}
	return dst, nil
}

// openAIEncoder writes chat.completion.chunk events.
type openAIEncoder struct {
	o       EncoderOptions
	id      string
	started bool
	stop    StopReason
	usage   Usage
	prefix  []byte // `{"id":...,"choices":[` shared by every chunk
}

func (e *openAIEncoder) start(dst []byte, id string) []byte {
	e.started = true
	e.id = idOr(id, "chatcmpl-")
	w := &jw{}
	w.obj()
	w.kStr("id", e.id)
	w.kStr("object", "chat.completion.chunk")
	w.kInt("created", e.o.Created)
	w.kStr("model", e.o.Model)
	w.b = append(w.b, `,"choices":[`...)
	e.prefix = w.b
	return e.chunk(dst, `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`, nil)
}

// chunk appends one chunk event whose only choice is choice (raw JSON).
func (e *openAIEncoder) chunk(dst []byte, choice string, choiceB []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, e.prefix...)
	dst = append(dst, choice...)
	dst = append(dst, choiceB...)
	return append(dst, "]}\n\n"...)
}

func (e *openAIEncoder) delta(dst []byte, build func(w *jw)) []byte {
	w := &jw{b: make([]byte, 0, 128)}
	w.obj()
	w.kInt("index", 0)
	w.key("delta")
	w.obj()
	build(w)
	w.end()
	w.key("finish_reason")
	w.null()
	w.end()
	return e.chunk(dst, "", w.b)
}

func (e *openAIEncoder) Encode(dst []byte, ev *Event) []byte {
	if !e.started && ev.Kind != EvUsage && ev.Kind != EvStop && ev.Kind != EvPing {
		dst = e.start(dst, ev.ID)
	}
	switch ev.Kind {
	case EvText:
		dst = e.delta(dst, func(w *jw) { w.kStr("content", ev.Text) })
	case EvThinking:
		dst = e.delta(dst, func(w *jw) { w.kStr("reasoning_content", ev.Text) })
	case EvToolStart:
		dst = e.delta(dst, func(w *jw) {
			w.key("tool_calls")
			w.arr()
			w.obj()
			w.kInt("index", int64(ev.Index))
			w.kStr("id", idOr(ev.ID, "call_"))
			w.kStr("type", "function")
			w.key("function")
			w.obj()
			w.kStr("name", ev.Name)
			w.kStr("arguments", "")
			w.end()
			w.end()
			w.endArr()
		})
	case EvToolArgs:
		dst = e.delta(dst, func(w *jw) {
			w.key("tool_calls")
			w.arr()
			w.obj()
			w.kInt("index", int64(ev.Index))
			w.key("function")
			w.obj()
			w.kStr("arguments", ev.Text)
			w.end()
			w.end()
			w.endArr()
		})
	case EvUsage:
		e.usage = ev.Usage
	case EvStop:
		e.stop = ev.Stop
	}
	return dst
}

func (e *openAIEncoder) Finish(dst []byte) []byte {
	if !e.started {
		dst = e.start(dst, "")
	}
	stop := e.stop
	if stop == 0 {
		stop = StopEnd
	}
	dst = e.chunk(dst, `{"index":0,"delta":{},"finish_reason":"`+openAIFinish(stop)+`"}`, nil)
	if e.o.IncludeUsage {
		w := &jw{b: append(dst, "data: "...)}
		w.b = append(w.b, e.prefix[:len(e.prefix)-len(`,"choices":[`)]...)
		w.b = append(w.b, `,"choices":[],"usage":`...)
		appendOpenAIUsage(w, e.usage)
		w.b = append(w.b, "}\n\n"...)
		dst = w.b
	}
	return append(dst, "data: [DONE]\n\n"...)
}

func (e *openAIEncoder) Fail(dst []byte, _ int, message string) []byte {
	w := &jw{b: append(dst, "data: "...)}
	w.obj()
	w.key("error")
	w.obj()
	w.kStr("message", message)
	w.kStr("type", "upstream_error")
	w.key("param")
	w.null()
	w.kStr("code", "stream_interrupted")
	w.end()
	w.end()
	return append(w.b, '\n', '\n')
}
