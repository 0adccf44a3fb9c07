package translate

import (
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

type claudeBlock struct {
	kind PartKind
	tool int // tool call ordinal
}

// claudeDecoder reads Claude's message stream events.
type claudeDecoder struct {
	blocks map[int64]claudeBlock
	tools  int
	usage  Usage
	done   bool
}

func (d *claudeDecoder) Done() bool { return d.done }

func (d *claudeDecoder) Ended() bool { return d.done }

func (d *claudeDecoder) Decode(dst []Event, payload []byte) ([]Event, error) {
	if !gjson.ValidBytes(payload) {
		return dst, errorf("the upstream sent an invalid stream event")
	}
	root := gjson.ParseBytes(payload)
	switch root.Get("type").String() {
	case "message_start":
		m := root.Get("message")
		dst = append(dst, Event{Kind: EvStart, ID: m.Get("id").String(), Model: m.Get("model").String()})
		if u := m.Get("usage"); u.IsObject() {
			d.usage = claudeUsage(u)
			dst = append(dst, Event{Kind: EvUsage, Usage: d.usage})
		}
	case "content_block_start":
		idx := root.Get("index").Int()
		cb := root.Get("content_block")
		switch cb.Get("type").String() {
		case "text":
			d.blocks[idx] = claudeBlock{kind: Text}
			if t := cb.Get("text").String(); t != "" {
				dst = append(dst, Event{Kind: EvText, Text: t})
			}
		case "thinking":
			d.blocks[idx] = claudeBlock{kind: Thinking}
			if t := cb.Get("thinking").String(); t != "" {
				dst = append(dst, Event{Kind: EvThinking, Text: t})
			}
		case "redacted_thinking":
			d.blocks[idx] = claudeBlock{kind: RedactedThinking}
			dst = append(dst, Event{Kind: EvRedacted, Text: cb.Get("data").String()})
		case "tool_use":
			d.blocks[idx] = claudeBlock{kind: ToolCall, tool: d.tools}
			dst = append(dst, Event{Kind: EvToolStart, Index: d.tools, ID: cb.Get("id").String(), Name: cb.Get("name").String()})
			if in := cb.Get("input"); in.IsObject() && len(in.Map()) > 0 {
				dst = append(dst, Event{Kind: EvToolArgs, Index: d.tools, Text: in.Raw})
			}
			d.tools++
		default:
			d.blocks[idx] = claudeBlock{}
		}
	case "content_block_delta":
		b := d.blocks[root.Get("index").Int()]
		delta := root.Get("delta")
		switch delta.Get("type").String() {
		case "text_delta":
			dst = append(dst, Event{Kind: EvText, Text: delta.Get("text").String()})
		case "thinking_delta":
			dst = append(dst, Event{Kind: EvThinking, Text: delta.Get("thinking").String()})
		case "signature_delta":
			dst = append(dst, Event{Kind: EvSignature, Text: delta.Get("signature").String()})
		case "input_json_delta":
			if b.kind == ToolCall {
				if pj := delta.Get("partial_json").String(); pj != "" {
					dst = append(dst, Event{Kind: EvToolArgs, Index: b.tool, Text: pj})
				}
			}
		}
	case "message_delta":
		if u := root.Get("usage"); u.IsObject() {
			// Counts here are cumulative; input counts appear only when they changed.
			d.usage.CompletionTokens = u.Get("output_tokens").Int()
			if u.Get("input_tokens").Exists() || u.Get("cache_read_input_tokens").Exists() {
				out := d.usage.CompletionTokens
				d.usage = claudeUsage(u)
				d.usage.CompletionTokens = out
			}
			dst = append(dst, Event{Kind: EvUsage, Usage: d.usage})
		}
		if sr := root.Get("delta.stop_reason"); sr.Type == gjson.String {
			dst = append(dst, Event{Kind: EvStop, Stop: claudeStop(sr.Str), StopSequence: root.Get("delta.stop_sequence").String()})
		}
	case "message_stop":
		d.done = true
	case "ping":
		dst = append(dst, Event{Kind: EvPing})
	case "error":
		dst = append(dst, Event{Kind: EvError, Text: root.Get("error.message").String(), ErrType: root.Get("error.type").String()})
	}
	return dst, nil
}

// claudeEncoder writes Claude's message stream events.
type claudeEncoder struct {
	o        EncoderOptions
	started  bool
	open     int // index of the open content block, -1 when none
	openKind PartKind
	openTool int
	next     int // index of the next block
	stop     StopReason
	stopSeq  string
	usage    Usage
	w        jw
}

func (e *claudeEncoder) event(dst []byte, name string, build func(w *jw)) []byte {
	e.w.b = e.w.b[:0]
	e.w.comma = e.w.comma[:0]
	e.w.afterKey = false
	build(&e.w)
	return AppendSSE(dst, name, e.w.b)
}

func (e *claudeEncoder) start(dst []byte, id string) []byte {
	e.started = true
	return e.event(dst, "message_start", func(w *jw) {
		w.obj()
		w.kStr("type", "message_start")
		w.key("message")
		w.obj()
		w.kStr("id", idOr(claudeID(id), "msg_"))
		w.kStr("type", "message")
		w.kStr("role", "assistant")
		w.kStr("model", e.o.Model)
		w.key("content")
		w.rawS("[]")
		w.key("stop_reason")
		w.null()
		w.key("stop_sequence")
		w.null()
		w.key("usage")
		appendClaudeUsage(w, Usage{PromptTokens: e.o.InputTokens, CompletionTokens: 1})
		w.end()
		w.end()
	})
}

func (e *claudeEncoder) closeBlock(dst []byte) []byte {
	if e.open < 0 {
		return dst
	}
	idx := e.open
	e.open = -1
	return e.event(dst, "content_block_stop", func(w *jw) {
		w.obj()
		w.kStr("type", "content_block_stop")
		w.kInt("index", int64(idx))
		w.end()
	})
}

// openBlock closes the open block and starts a new one; block writes the content_block object.
func (e *claudeEncoder) openBlock(dst []byte, kind PartKind, tool int, block func(w *jw)) []byte {
	dst = e.closeBlock(dst)
	e.open, e.openKind, e.openTool = e.next, kind, tool
	e.next++
	return e.event(dst, "content_block_start", func(w *jw) {
		w.obj()
		w.kStr("type", "content_block_start")
		w.kInt("index", int64(e.open))
		w.key("content_block")
		block(w)
		w.end()
	})
}

func (e *claudeEncoder) delta(dst []byte, build func(w *jw)) []byte {
	return e.event(dst, "content_block_delta", func(w *jw) {
		w.obj()
		w.kStr("type", "content_block_delta")
		w.kInt("index", int64(e.open))
		w.key("delta")
		w.obj()
		build(w)
		w.end()
		w.end()
	})
}

func (e *claudeEncoder) Encode(dst []byte, ev *Event) []byte {
	if !e.started && ev.Kind != EvUsage && ev.Kind != EvStop {
		dst = e.start(dst, ev.ID)
	}
	switch ev.Kind {
	case EvText:
		if e.open < 0 || e.openKind != Text {
			dst = e.openBlock(dst, Text, 0, func(w *jw) { w.rawS(`{"type":"text","text":""}`) })
		}
		// The most frequent event, written directly (the same bytes e.delta writes).
		dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
		dst = strconv.AppendInt(dst, int64(e.open), 10)
		dst = append(dst, `,"delta":{"type":"text_delta","text":`...)
		dst = jsonx.AppendString(dst, ev.Text)
		dst = append(dst, "}}\n\n"...)
	case EvThinking:
		if e.open < 0 || e.openKind != Thinking {
			dst = e.openBlock(dst, Thinking, 0, func(w *jw) { w.rawS(`{"type":"thinking","thinking":"","signature":""}`) })
		}
		dst = e.delta(dst, func(w *jw) { w.kStr("type", "thinking_delta"); w.kStr("thinking", ev.Text) })
	case EvSignature:
		if e.open >= 0 && e.openKind == Thinking {
			dst = e.delta(dst, func(w *jw) { w.kStr("type", "signature_delta"); w.kStr("signature", ev.Text) })
		}
	case EvRedacted:
		dst = e.openBlock(dst, RedactedThinking, 0, func(w *jw) {
			w.obj()
			w.kStr("type", "redacted_thinking")
			w.kStr("data", ev.Text)
			w.end()
		})
	case EvToolStart:
		dst = e.openBlock(dst, ToolCall, ev.Index, func(w *jw) {
			w.obj()
			w.kStr("type", "tool_use")
			w.kStr("id", idOr(ev.ID, "toolu_"))
			w.kStr("name", ev.Name)
			w.key("input")
			w.rawS("{}")
			w.end()
		})
	case EvToolArgs:
		if e.open >= 0 && e.openKind == ToolCall && e.openTool == ev.Index {
			dst = e.delta(dst, func(w *jw) { w.kStr("type", "input_json_delta"); w.kStr("partial_json", ev.Text) })
		}
	case EvUsage:
		e.usage = ev.Usage
	case EvStop:
		e.stop, e.stopSeq = ev.Stop, ev.StopSequence
	case EvPing:
		dst = append(dst, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
	}
	return dst
}

func (e *claudeEncoder) Finish(dst []byte) []byte {
	if !e.started {
		dst = e.start(dst, "")
	}
	dst = e.closeBlock(dst)
	stop := e.stop
	if stop == 0 {
		stop = StopEnd
	}
	dst = e.event(dst, "message_delta", func(w *jw) {
		w.obj()
		w.kStr("type", "message_delta")
		w.key("delta")
		w.obj()
		w.kStr("stop_reason", claudeStopName(stop))
		w.key("stop_sequence")
		if e.stopSeq != "" {
			w.str(e.stopSeq)
		} else {
			w.null()
		}
		w.end()
		w.key("usage")
		appendClaudeUsage(w, e.usage)
		w.end()
	})
	return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func (e *claudeEncoder) Fail(dst []byte, status int, message string) []byte {
	return e.event(dst, "error", func(w *jw) {
		w.obj()
		w.kStr("type", "error")
		w.key("error")
		w.obj()
		w.kStr("type", ClaudeErrorType(status))
		w.kStr("message", message)
		w.end()
		w.end()
	})
}

// ClaudeErrorType is Claude's error type for an HTTP status.
func ClaudeErrorType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusConflict:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529, http.StatusServiceUnavailable:
		return "overloaded_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	}
	return "api_error"
}
