package fakeupstream

import (
	"net/http"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// stream answers :streamGenerateContent: one chunk per thought word and per answer word, one per
// tool call, then a final chunk with the finish reason and usage. With ?alt=sse the chunks are
// server-sent events (separated by \r\n\r\n as Google does), otherwise the elements of one JSON
// array written as they are produced.
func (g *gemini) stream(x *exchange, req *geminiRequest, text string, usage Usage) {
	rep := x.reply
	h := x.w.Header()
	if req.sse {
		g.headers(h, hdrSSE)
	} else {
		g.headers(h, hdrJSONUTF8)
	}
	x.w.WriteHeader(http.StatusOK)
	e := &sseWriter{x: x, rc: http.NewResponseController(x.w), b: x.scratch.out[:0], delay: rep.EventDelay}
	defer func() { x.scratch.out = e.b }()
	responseID := string(appendID(nil, 22))
	chunk := func(parts func(b []byte) []byte, final bool) bool {
		if !e.begin() {
			return false
		}
		b := e.b[:0]
		switch {
		case req.sse:
			b = append(b, "data: "...)
		case e.sent == 0:
			b = append(b, '[')
		default:
			b = append(b, ",\r\n"...)
		}
		b = append(b, `{"candidates":[{"content":{"parts":[`...)
		if parts != nil {
			b = parts(b)
		}
		b = append(b, `],"role":"model"}`...)
		if final {
			b = append(b, `,"finishReason":"STOP"`...)
		}
		b = append(b, `,"index":0}]`...)
		if final && !rep.OmitUsage {
			b = append(b, `,"usageMetadata":`...)
			b = appendGeminiUsage(b, usage)
		}
		b = append(b, `,"modelVersion":`...)
		b = jsonx.AppendString(b, req.model)
		b = append(b, `,"responseId":"`+responseID+`"}`...)
		if req.sse {
			b = append(b, "\r\n\r\n"...)
		} else if final {
			b = append(b, ']')
		}
		e.b = b
		return e.send()
	}
	textPart := func(word string, thought bool) func(b []byte) []byte {
		return func(b []byte) []byte {
			b = append(b, `{"text":`...)
			b = jsonx.AppendString(b, word)
			if thought {
				b = append(b, `,"thought":true`...)
			}
			return append(b, '}')
		}
	}
	if rep.CutAfter < 0 {
		abort(x.w)
		return
	}
	for rest := rep.Thinking; rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		if !chunk(textPart(word, true), false) {
			return
		}
	}
	n := 0
	for rest := text; rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		if !chunk(textPart(word, false), false) {
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
	for _, tc := range rep.ToolCalls {
		if !chunk(func(b []byte) []byte { return appendFunctionCall(b, tc) }, false) {
			return
		}
	}
	chunk(nil, true)
}
