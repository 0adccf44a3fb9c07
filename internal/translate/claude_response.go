package translate

import (
	"strconv"

	"github.com/tidwall/gjson"
)

// claudeUsage reads Claude's usage object: its input_tokens excludes cache reads and writes.
func claudeUsage(u gjson.Result) Usage {
	read := u.Get("cache_read_input_tokens").Int()
	write := u.Get("cache_creation_input_tokens").Int()
	out := Usage{CachedTokens: read, CompletionTokens: u.Get("output_tokens").Int()}
	out.PromptTokens = u.Get("input_tokens").Int() + read + write
	if cc := u.Get("cache_creation"); cc.IsObject() {
		out.CacheWrite5mTokens = cc.Get("ephemeral_5m_input_tokens").Int()
		out.CacheWrite1hTokens = cc.Get("ephemeral_1h_input_tokens").Int()
	} else {
		out.CacheWrite5mTokens = write
	}
	return out
}

func appendClaudeUsage(w *jw, u Usage) {
	w.sep()
	w.b = appendClaudeUsageObject(w.b, u)
}

// appendClaudeUsageObject writes Claude's usage object (written on every Claude answer and twice
// per stream, so directly rather than member by member).
func appendClaudeUsageObject(b []byte, u Usage) []byte {
	writes := u.CacheWrite5mTokens + u.CacheWrite1hTokens
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, max(u.PromptTokens-u.CachedTokens-writes, 0), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, writes, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWrite5mTokens, 10)
	b = append(b, `,"ephemeral_1h_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWrite1hTokens, 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	return append(b, '}')
}

func claudeStop(s string) StopReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return StopMaxTokens
	case "stop_sequence":
		return StopSequence
	case "tool_use":
		return StopToolUse
	case "refusal":
		return StopFiltered
	}
	return StopEnd
}

func claudeStopName(s StopReason) string {
	switch s {
	case StopMaxTokens:
		return "max_tokens"
	case StopSequence:
		return "stop_sequence"
	case StopToolUse:
		return "tool_use"
	case StopFiltered:
		return "refusal"
	}
	return "end_turn"
}

// DecodeClaudeResponse reads an Anthropic message.
func DecodeClaudeResponse(body []byte) (*Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, errorf("the upstream answer is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	r := &Response{ID: root.Get("id").String(), Model: root.Get("model").String(),
		Stop: claudeStop(root.Get("stop_reason").String()), StopSequence: root.Get("stop_sequence").String()}
	parts, err := decodeClaudeContent(root.Get("content"))
	if err != nil {
		return nil, err
	}
	r.Parts = parts
	if u := root.Get("usage"); u.IsObject() {
		r.Usage, r.HasUsage = claudeUsage(u), true
	}
	return r, nil
}

// EncodeClaudeResponse writes r as an Anthropic message.
func EncodeClaudeResponse(r *Response, model string) []byte {
	w := &jw{b: make([]byte, 0, 512)}
	w.obj()
	w.kStr("id", idOr(claudeID(r.ID), "msg_"))
	w.kStr("type", "message")
	w.kStr("role", "assistant")
	w.kStr("model", model)
	w.key("content")
	w.arr()
	for i := range r.Parts {
		p := &r.Parts[i]
		if p.Kind == Thinking {
			w.obj()
			w.kStr("type", "thinking")
			w.kStr("thinking", p.Text)
			w.kStr("signature", p.Signature)
			w.end()
			continue
		}
		encodeClaudePart(w, p, true)
	}
	w.endArr()
	w.kStr("stop_reason", claudeStopName(r.Stop))
	w.key("stop_sequence")
	if r.StopSequence != "" {
		w.str(r.StopSequence)
	} else {
		w.null()
	}
	w.key("usage")
	appendClaudeUsage(w, r.Usage)
	w.end()
	return w.b
}

// claudeID keeps ids that already look like Claude's; others get a msg_ prefix.
func claudeID(id string) string {
	if id == "" || len(id) > 4 && id[:4] == "msg_" {
		return id
	}
	return "msg_" + id
}
