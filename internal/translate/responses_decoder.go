package translate

import (
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// ResponsesUsage reads the usage object of an OpenAI Responses API answer (or of an image
// generation, which reports usage in the same words); ok is false when u is not an object.
func ResponsesUsage(u gjson.Result) (Usage, bool) {
	if !u.IsObject() {
		return Usage{}, false
	}
	return Usage{PromptTokens: u.Get("input_tokens").Int(), CachedTokens: u.Get("input_tokens_details.cached_tokens").Int(),
		CompletionTokens: u.Get("output_tokens").Int(), ReasoningTokens: u.Get("output_tokens_details.reasoning_tokens").Int()}, true
}

// ResponsesDecoder follows a relayed OpenAI Responses API stream for its usage and its end, and
// remembers where it stands (the response id, the last sequence number) so that a cut can be
// reported in the same sequence (Fail). It decodes only what the relay needs (usage, text deltas
// for the estimate, errors, the end); Responses streams are relayed, never translated from.
type ResponsesDecoder struct {
	done     bool
	seq      int64  // the last sequence_number relayed; -1 before the first event
	response []byte // the last response object relayed (response.created, .in_progress)
}

// NewResponsesDecoder returns the decoder of a relayed Responses API stream.
func NewResponsesDecoder() *ResponsesDecoder { return &ResponsesDecoder{seq: -1} }

// Done reports whether response.completed or response.incomplete was read.
func (d *ResponsesDecoder) Done() bool { return d.done }

// Ended reports the same as Done: nothing of the answer follows the final response event.
func (d *ResponsesDecoder) Ended() bool { return d.done }

// Decode appends the canonical events of one payload to dst.
func (d *ResponsesDecoder) Decode(dst []Event, payload []byte) ([]Event, error) {
	root := gjson.ParseBytes(payload)
	if n := root.Get("sequence_number"); n.Type == gjson.Number {
		d.seq = n.Int()
	}
	switch root.Get("type").String() {
	case "response.created", "response.in_progress":
		if r := root.Get("response"); r.IsObject() {
			d.response = append(d.response[:0], r.Raw...)
		}
	case "response.completed", "response.incomplete":
		d.done = true
		if u, ok := ResponsesUsage(root.Get("response.usage")); ok {
			dst = append(dst, Event{Kind: EvUsage, Usage: u})
		}
	case "response.failed":
		dst = append(dst, Event{Kind: EvError, Text: root.Get("response.error.message").String()})
	case "error":
		dst = append(dst, Event{Kind: EvError, Text: root.Get("message").String()})
	case "response.output_text.delta":
		dst = append(dst, Event{Kind: EvText, Text: root.Get("delta").String()})
	}
	return dst, nil
}

// Fail appends the events that end a relayed stream the upstream cut: an error event, then (when
// the upstream announced its response) response.failed for that response, numbered after the
// last event relayed.
func (d *ResponsesDecoder) Fail(dst []byte, message string) []byte {
	var w []byte
	d.seq++
	w = append(w, `{"type":"error","code":"stream_interrupted","message":`...)
	w = jsonx.AppendString(w, message)
	w = append(w, `,"param":null,"sequence_number":`...)
	w = strconv.AppendInt(w, d.seq, 10)
	w = append(w, '}')
	dst = AppendSSE(dst, "error", w)
	if len(d.response) == 0 {
		return dst
	}
	resp, err := sjson.SetBytes(d.response, "status", "failed")
	if err == nil {
		resp, err = sjson.SetRawBytes(resp, "error", []byte(`{"code":"server_error","message":`+string(jsonx.AppendString(nil, message))+`}`))
	}
	if err != nil {
		return dst
	}
	d.seq++
	w = append(w[:0], `{"type":"response.failed","sequence_number":`...)
	w = strconv.AppendInt(w, d.seq, 10)
	w = append(w, `,"response":`...)
	w = append(w, resp...)
	w = append(w, '}')
	return AppendSSE(dst, "response.failed", w)
}
