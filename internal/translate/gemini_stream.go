package translate

import (
	"github.com/tidwall/gjson"
)

// geminiDecoder reads Gemini's streamed GenerateContentResponse chunks.
type geminiDecoder struct {
	started  bool
	finished bool
	tools    int
}

func (d *geminiDecoder) Done() bool { return d.finished }

func (d *geminiDecoder) Ended() bool { return false }

func (d *geminiDecoder) Decode(dst []Event, payload []byte) ([]Event, error) {
	if !gjson.ValidBytes(payload) {
		return dst, errorf("the upstream sent an invalid stream event")
	}
	root := gjson.ParseBytes(payload)
	if e := root.Get("error"); e.IsObject() {
		return append(dst, Event{Kind: EvError, Text: e.Get("message").String(), ErrType: e.Get("status").String()}), nil
	}
	if !d.started {
		d.started = true
		dst = append(dst, Event{Kind: EvStart, ID: root.Get("responseId").String(), Model: root.Get("modelVersion").String()})
	}
	cand := root.Get("candidates.0")
	cand.Get("content.parts").ForEach(func(_, p gjson.Result) bool {
		sig := p.Get("thoughtSignature").String()
		switch {
		case p.Get("functionCall").Exists():
			f := p.Get("functionCall")
			id := f.Get("id").String()
			if id == "" {
				id = "call_" + itoa(d.tools) + "_" + f.Get("name").String()
			}
			dst = append(dst, Event{Kind: EvToolStart, Index: d.tools, ID: id, Name: f.Get("name").String()},
				Event{Kind: EvToolArgs, Index: d.tools, Text: string(validArgs([]byte(f.Get("args").Raw)))})
			d.tools++
		case p.Get("thought").Bool():
			if t := p.Get("text").String(); t != "" {
				dst = append(dst, Event{Kind: EvThinking, Text: t})
			}
			if sig != "" {
				dst = append(dst, Event{Kind: EvSignature, Text: sig})
			}
		case p.Get("text").Exists():
			if t := p.Get("text").String(); t != "" {
				dst = append(dst, Event{Kind: EvText, Text: t})
			}
		}
		return true
	})
	if u := root.Get("usageMetadata"); u.IsObject() {
		dst = append(dst, Event{Kind: EvUsage, Usage: geminiUsage(u)})
	}
	if fr := cand.Get("finishReason"); fr.Type == gjson.String && fr.Str != "" {
		d.finished = true
		dst = append(dst, Event{Kind: EvStop, Stop: geminiStop(fr.Str, d.tools > 0)})
	}
	return dst, nil
}

// geminiEncoder writes Gemini stream chunks, as server-sent events or as a JSON array. Tool calls
// are sent whole (Gemini streams complete function calls), so their arguments are gathered until
// the call ends; text and thoughts go out as they arrive.
type geminiEncoder struct {
	o      EncoderOptions
	id     string
	chunks int
	stop   StopReason
	usage  Usage
	tool   *Event // the tool call being gathered
	args   []byte
}

func (e *geminiEncoder) chunk(dst []byte, parts func(w *jw), final bool) []byte {
	w := &jw{b: make([]byte, 0, 256)}
	w.obj()
	w.key("candidates")
	w.arr()
	w.obj()
	w.key("content")
	w.obj()
	w.key("parts")
	w.arr()
	if parts != nil {
		parts(w)
	}
	w.endArr()
	w.kStr("role", "model")
	w.end()
	if final {
		w.kStr("finishReason", geminiFinish(e.stop))
	}
	w.kInt("index", 0)
	w.end()
	w.endArr()
	if final {
		w.key("usageMetadata")
		appendGeminiUsage(w, e.usage)
	}
	w.kStr("modelVersion", e.o.Model)
	w.kStr("responseId", e.id)
	w.end()
	return e.frame(dst, w.b)
}

func (e *geminiEncoder) frame(dst, obj []byte) []byte {
	e.chunks++
	if !e.o.GeminiArray {
		return AppendSSE(dst, "", obj)
	}
	if e.chunks == 1 {
		dst = append(dst, '[')
	} else {
		dst = append(dst, ",\r\n"...)
	}
	return append(dst, obj...)
}

func (e *geminiEncoder) flushTool(dst []byte) []byte {
	if e.tool == nil {
		return dst
	}
	t := e.tool
	e.tool = nil
	args := validArgs(e.args)
	return e.chunk(dst, func(w *jw) {
		w.obj()
		w.key("functionCall")
		w.obj()
		w.kStr("name", t.Name)
		w.kRaw("args", args)
		w.end()
		w.end()
	}, false)
}

func (e *geminiEncoder) Encode(dst []byte, ev *Event) []byte {
	if e.id == "" {
		e.id = idOr(ev.ID, "resp_")
	}
	switch ev.Kind {
	case EvText, EvThinking:
		if ev.Text == "" {
			return dst
		}
		dst = e.flushTool(dst)
		return e.chunk(dst, func(w *jw) {
			w.obj()
			w.kStr("text", ev.Text)
			if ev.Kind == EvThinking {
				w.key("thought")
				w.bool(true)
			}
			w.end()
		}, false)
	case EvToolStart:
		dst = e.flushTool(dst)
		t := *ev
		e.tool, e.args = &t, e.args[:0]
	case EvToolArgs:
		if e.tool != nil && e.tool.Index == ev.Index {
			e.args = append(e.args, ev.Text...)
		}
	case EvUsage:
		e.usage = ev.Usage
	case EvStop:
		e.stop = ev.Stop
	}
	return dst
}

func (e *geminiEncoder) Finish(dst []byte) []byte {
	if e.id == "" {
		e.id = idOr("", "resp_")
	}
	dst = e.flushTool(dst)
	dst = e.chunk(dst, nil, true)
	if e.o.GeminiArray {
		dst = append(dst, ']')
	}
	return dst
}

func (e *geminiEncoder) Fail(dst []byte, status int, message string) []byte {
	if e.o.GeminiArray {
		e.chunks++
		if e.chunks == 1 {
			dst = append(dst, '[')
		} else {
			dst = append(dst, ",\r\n"...)
		}
		return append(AppendGeminiError(dst, status, message), ']')
	}
	return AppendSSE(dst, "", AppendGeminiError(nil, status, message))
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
