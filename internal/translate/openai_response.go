package translate

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

var openAIUsageFields = [4]string{"prompt_tokens", "prompt_tokens_details", "completion_tokens", "completion_tokens_details"}

// openAIUsage reads OpenAI's usage object.
func openAIUsage(u gjson.Result) Usage {
	var f [4]gjson.Result
	jsonx.Members(u, openAIUsageFields[:], f[:])
	return Usage{
		PromptTokens:     f[0].Int(),
		CachedTokens:     f[1].Get("cached_tokens").Int(),
		CompletionTokens: f[2].Int(),
		ReasoningTokens:  f[3].Get("reasoning_tokens").Int(),
	}
}

func appendOpenAIUsage(w *jw, u Usage) {
	w.obj()
	w.kInt("prompt_tokens", u.PromptTokens)
	w.kInt("completion_tokens", u.CompletionTokens)
	w.kInt("total_tokens", u.PromptTokens+u.CompletionTokens)
	w.key("prompt_tokens_details")
	w.obj()
	w.kInt("cached_tokens", u.CachedTokens)
	w.end()
	w.key("completion_tokens_details")
	w.obj()
	w.kInt("reasoning_tokens", u.ReasoningTokens)
	w.end()
	w.end()
}

func openAIStop(s string) StopReason {
	switch s {
	case "length":
		return StopMaxTokens
	case "tool_calls", "function_call":
		return StopToolUse
	case "content_filter":
		return StopFiltered
	}
	return StopEnd
}

func openAIFinish(s StopReason) string {
	switch s {
	case StopMaxTokens:
		return "length"
	case StopToolUse:
		return "tool_calls"
	case StopFiltered:
		return "content_filter"
	}
	return "stop"
}

// Members of an OpenAI chat completion read in one pass each (members).
var (
	openAIAnswerFields  = [4]string{"id", "model", "choices", "usage"}
	openAIChoiceFields  = [2]string{"message", "finish_reason"}
	openAIMessageFields = [6]string{"role", "content", "reasoning_content", "reasoning", "refusal", "tool_calls"}
)

// Indexes into openAIMessageFields.
const (
	omRole = iota
	omContent
	omReasoningContent
	omReasoning
	omRefusal
	omToolCalls
)

// DecodeOpenAIResponse reads an OpenAI chat completion.
func DecodeOpenAIResponse(body []byte) (*Response, error) {
	var f [4]gjson.Result
	if !jsonx.ParseMembers(body, openAIAnswerFields[:], f[:]) {
		return nil, errorf("the upstream answer is not a valid JSON object")
	}
	r := &Response{ID: f[0].String(), Model: f[1].String()}
	var ch gjson.Result
	f[2].ForEach(func(_, c gjson.Result) bool { ch = c; return false })
	var cf [2]gjson.Result
	jsonx.Members(ch, openAIChoiceFields[:], cf[:])
	var m [6]gjson.Result
	jsonx.Members(cf[0], openAIMessageFields[:], m[:])
	rc := m[omReasoningContent]
	if !rc.Exists() {
		rc = m[omReasoning]
	}
	if rc.Type == gjson.String && rc.Str != "" {
		r.Parts = append(r.Parts, Part{Kind: Thinking, Text: rc.Str})
	}
	if c := m[omContent]; c.Type == gjson.String && c.Str != "" {
		r.Parts = append(r.Parts, Part{Kind: Text, Text: c.Str})
	} else if rf := m[omRefusal]; rf.Type == gjson.String && rf.Str != "" {
		r.Parts = append(r.Parts, Part{Kind: Text, Text: rf.Str})
	}
	m[omToolCalls].ForEach(func(_, tc gjson.Result) bool {
		r.Parts = append(r.Parts, Part{Kind: ToolCall, ToolID: tc.Get("id").String(),
			ToolName: tc.Get("function.name").String(), Args: validArgs([]byte(tc.Get("function.arguments").String()))})
		return true
	})
	r.Stop = openAIStop(cf[1].String())
	if u := f[3]; u.IsObject() {
		r.Usage, r.HasUsage = openAIUsage(u), true
	}
	return r, nil
}

// EncodeOpenAIResponse writes r as an OpenAI chat completion.
func EncodeOpenAIResponse(r *Response, created int64) []byte {
	w := &jw{b: make([]byte, 0, 512)}
	w.obj()
	w.kStr("id", idOr(r.ID, "chatcmpl-"))
	w.kStr("object", "chat.completion")
	w.kInt("created", created)
	w.kStr("model", r.Model)
	w.key("choices")
	w.arr()
	w.obj()
	w.kInt("index", 0)
	w.key("message")
	w.obj()
	w.kStr("role", "assistant")
	text, thinking := "", ""
	for _, p := range r.Parts {
		switch p.Kind {
		case Text:
			text += p.Text
		case Thinking:
			thinking += p.Text
		}
	}
	w.key("content")
	if text == "" && hasKind(r.Parts, ToolCall) {
		w.null()
	} else {
		w.str(text)
	}
	if thinking != "" {
		w.kStr("reasoning_content", thinking)
	}
	appendOpenAIToolCalls(w, r.Parts)
	w.end()
	w.kStr("finish_reason", openAIFinish(r.Stop))
	w.end()
	w.endArr()
	w.key("usage")
	appendOpenAIUsage(w, r.Usage)
	w.end()
	return w.b
}

func hasKind(parts []Part, k PartKind) bool {
	for _, p := range parts {
		if p.Kind == k {
			return true
		}
	}
	return false
}

// idOr returns id, or a fresh id with prefix when id is empty.
func idOr(id, prefix string) string {
	if id != "" {
		return id
	}
	return prefix + strconv.FormatUint(nextID(), 36)
}

// appendOpenAIToolCalls writes "tool_calls" for the ToolCall parts, if there are any.
func appendOpenAIToolCalls(w *jw, parts []Part) {
	calls := 0
	for _, p := range parts {
		if p.Kind != ToolCall {
			continue
		}
		if calls == 0 {
			w.key("tool_calls")
			w.arr()
		}
		calls++
		w.obj()
		w.kStr("id", p.ToolID)
		w.kStr("type", "function")
		w.key("function")
		w.obj()
		w.kStr("name", p.ToolName)
		w.kStr("arguments", string(validArgs(p.Args)))
		w.end()
		w.end()
	}
	if calls > 0 {
		w.endArr()
	}
}
