package fakeupstream

import (
	"net/http"
	"strconv"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// claudeEvents writes Claude's named server-sent events, flushing after each.
type claudeEvents struct {
	e *sseWriter
}

// send writes one event; it reports false when the client went away.
func (c *claudeEvents) send(name string, build func(b []byte) []byte) bool {
	if !c.e.begin() {
		return false
	}
	c.e.b = append(c.e.b[:0], "event: "...)
	c.e.b = append(c.e.b, name...)
	c.e.b = append(c.e.b, "\ndata: "...)
	c.e.b = build(c.e.b)
	c.e.b = append(c.e.b, "\n\n"...)
	return c.e.send()
}

func blockEvent(typ string, index int, rest string) func(b []byte) []byte {
	return func(b []byte) []byte {
		b = append(b, `{"type":"`+typ+`","index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		return append(b, rest...)
	}
}

func deltaEvent(index int, kind, field, value string) func(b []byte) []byte {
	return func(b []byte) []byte {
		b = append(b, `{"type":"content_block_delta","index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, `,"delta":{"type":"`+kind+`","`+field+`":`...)
		b = jsonx.AppendString(b, value)
		return append(b, "}}"...)
	}
}

// stream answers a message as Claude's event stream: message_start, a ping, the thinking block
// (one delta per word, then the signature), the text block (one delta per word), each tool call
// (its input in two pieces), message_delta with the stop reason and usage, message_stop.
func (a *anthropic) stream(x *exchange, req *claudeRequest, text string, usage Usage) {
	rep := x.reply
	h := x.w.Header()
	a.headers(h, hdrSSE)
	setDefault(h, "Cache-Control", hdrNoCache)
	x.w.WriteHeader(http.StatusOK)
	e := &sseWriter{x: x, rc: http.NewResponseController(x.w), b: x.scratch.out[:0], delay: rep.EventDelay}
	defer func() { x.scratch.out = e.b }()
	c := &claudeEvents{e: e}

	ok := c.send("message_start", func(b []byte) []byte {
		b = append(b, `{"type":"message_start","message":{"id":"msg_`...)
		b = appendID(b, 24)
		b = append(b, `","type":"message","role":"assistant","model":`...)
		b = append(b, req.model.Raw...)
		b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
		b = appendClaudeUsage(b, usage, false)
		return append(b, "}}"...)
	}) && c.send("ping", func(b []byte) []byte { return append(b, `{"type": "ping"}`...) })
	if !ok {
		return
	}
	if rep.CutAfter < 0 {
		abort(x.w)
		return
	}
	idx := 0
	if rep.Thinking != "" {
		if !c.send("content_block_start", blockEvent("content_block_start", idx, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`)) {
			return
		}
		for rest := rep.Thinking; rest != ""; {
			var word string
			word, rest = nextChunk(rest)
			if !c.send("content_block_delta", deltaEvent(idx, "thinking_delta", "thinking", word)) {
				return
			}
		}
		if !c.send("content_block_delta", deltaEvent(idx, "signature_delta", "signature", signature(rep.Thinking))) ||
			!c.send("content_block_stop", blockEvent("content_block_stop", idx, "}")) {
			return
		}
		idx++
	}
	if text != "" {
		if !c.send("content_block_start", blockEvent("content_block_start", idx, `,"content_block":{"type":"text","text":""}}`)) {
			return
		}
		n := 0
		for rest := text; rest != ""; {
			var word string
			word, rest = nextChunk(rest)
			if !c.send("content_block_delta", deltaEvent(idx, "text_delta", "text", word)) {
				return
			}
			if n++; rep.CutAfter > 0 && n >= rep.CutAfter {
				abort(x.w)
				return
			}
		}
		if !c.send("content_block_stop", blockEvent("content_block_stop", idx, "}")) {
			return
		}
		idx++
	}
	if rep.CutAfter > 0 {
		abort(x.w)
		return
	}
	for i, tc := range rep.ToolCalls {
		start := `,"content_block":{"type":"tool_use","id":` + string(jsonx.AppendString(nil, toolID(tc, "toolu_", i))) +
			`,"name":` + string(jsonx.AppendString(nil, tc.Name)) + `,"input":{}}}`
		half := len(tc.Args) / 2
		if !c.send("content_block_start", blockEvent("content_block_start", idx, start)) ||
			!c.send("content_block_delta", deltaEvent(idx, "input_json_delta", "partial_json", tc.Args[:half])) ||
			!c.send("content_block_delta", deltaEvent(idx, "input_json_delta", "partial_json", tc.Args[half:])) ||
			!c.send("content_block_stop", blockEvent("content_block_stop", idx, "}")) {
			return
		}
		idx++
	}
	stop := "end_turn"
	if len(rep.ToolCalls) > 0 {
		stop = "tool_use"
	}
	if !c.send("message_delta", func(b []byte) []byte {
		b = append(b, `{"type":"message_delta","delta":{"stop_reason":"`+stop+`","stop_sequence":null},"usage":{"output_tokens":`...)
		b = strconv.AppendInt(b, int64(usage.CompletionTokens), 10)
		return append(b, "}}"...)
	}) {
		return
	}
	c.send("message_stop", func(b []byte) []byte { return append(b, `{"type":"message_stop"}`...) })
}
