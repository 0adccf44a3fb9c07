package translate

import (
	"strconv"
	"strings"
)

// respItem is one item of a Responses API answer's output: a reasoning summary, an assistant
// message (one output_text part) or a function call.
type respItem struct {
	kind PartKind // Thinking, Text or ToolCall
	id   string   // rs_…, msg_…, fc_…
	text string   // the summary or message text; a call's arguments
	// acc holds what a stream has added to text since the last settle (appending to a byte
	// slice, not concatenating strings, keeps a long answer's deltas linear).
	acc []byte
	// callID and name identify a function call.
	callID string
	name   string
}

// settle moves the streamed additions into text.
func (it *respItem) settle() {
	if len(it.acc) > 0 {
		it.text += string(it.acc)
		it.acc = it.acc[:0]
	}
}

// respAnswer is what a Responses API response object says, in progress or final.
type respAnswer struct {
	id      string
	model   string
	created int64
	status  string // in_progress, completed, incomplete, failed
	items   []respItem
	stop    StopReason
	usage   *Usage // nil while unknown
	// errCode and errMsg describe a failed response.
	errCode string
	errMsg  string
}

// responsesID makes a response id from an upstream answer's id, or a fresh one.
func responsesID(id string) string {
	if id == "" || strings.HasPrefix(id, "resp_") {
		return idOr(id, "resp_")
	}
	return "resp_" + id
}

// responsesStatus is the status and incomplete reason of a finished answer.
func responsesStatus(s StopReason) (status, reason string) {
	switch s {
	case StopMaxTokens:
		return "incomplete", "max_output_tokens"
	case StopFiltered:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// responsesItemID names output item n of response respID: prefix, the response id's suffix and n,
// unique as the response id is.
func responsesItemID(prefix, respID string, n int) string {
	return prefix + strings.TrimPrefix(respID, "resp_") + "_" + strconv.Itoa(n)
}

// responsesItems groups an answer's parts into output items: consecutive thinking parts make one
// reasoning item, consecutive text parts one message, and each tool call is its own item.
func responsesItems(parts []Part, respID string) []respItem {
	var items []respItem
	for _, p := range parts {
		switch p.Kind {
		case Thinking, Text:
			if n := len(items); n > 0 && items[n-1].kind == p.Kind {
				items[n-1].text += p.Text
				continue
			}
			prefix := "msg_"
			if p.Kind == Thinking {
				prefix = "rs_"
			}
			items = append(items, respItem{kind: p.Kind, id: responsesItemID(prefix, respID, len(items)), text: p.Text})
		case ToolCall:
			items = append(items, respItem{kind: ToolCall, id: responsesItemID("fc_", respID, len(items)), callID: idOr(p.ToolID, "call_"),
				name: p.ToolName, text: string(validArgs(p.Args))})
		}
	}
	return items
}

// EncodeResponsesResponse writes r as an OpenAI Responses API response object: thinking as a
// reasoning item with a summary, text as an assistant message, each tool call as a function_call
// item. model is the model name the caller asked for; created the creation time (Unix seconds).
// The request's settings are not echoed: the echo fields carry their defaults (or null).
func EncodeResponsesResponse(r *Response, model string, created int64) []byte {
	status, _ := responsesStatus(r.Stop)
	id := responsesID(r.ID)
	a := &respAnswer{id: id, model: model, created: created, status: status,
		items: responsesItems(r.Parts, id), stop: r.Stop, usage: &r.Usage}
	w := &jw{b: make([]byte, 0, 1024)}
	appendResponsesObject(w, a)
	return w.b
}

// appendResponsesObject writes a response object.
func appendResponsesObject(w *jw, a *respAnswer) {
	w.obj()
	w.kStr("id", a.id)
	w.kStr("object", "response")
	w.kInt("created_at", a.created)
	w.kStr("status", a.status)
	w.key("background")
	w.bool(false)
	w.key("error")
	if a.status == "failed" {
		w.obj()
		w.kStr("code", a.errCode)
		w.kStr("message", a.errMsg)
		w.end()
	} else {
		w.null()
	}
	w.key("incomplete_details")
	if _, reason := responsesStatus(a.stop); a.status == "incomplete" && reason != "" {
		w.obj()
		w.kStr("reason", reason)
		w.end()
	} else {
		w.null()
	}
	w.key("instructions")
	w.null()
	w.key("max_output_tokens")
	w.null()
	w.kStr("model", a.model)
	w.key("output")
	w.arr()
	itemStatus := "completed"
	if a.status == "failed" {
		itemStatus = "incomplete"
	}
	for i := range a.items {
		appendResponsesItem(w, &a.items[i], itemStatus)
	}
	w.endArr()
	w.key("parallel_tool_calls")
	w.bool(true)
	w.key("previous_response_id")
	w.null()
	w.key("reasoning")
	w.rawS(`{"effort":null,"summary":null}`)
	w.key("store")
	w.bool(false)
	w.key("temperature")
	w.null()
	w.key("text")
	w.rawS(`{"format":{"type":"text"}}`)
	w.kStr("tool_choice", "auto")
	w.key("tools")
	w.rawS("[]")
	w.key("top_p")
	w.null()
	w.kStr("truncation", "disabled")
	w.key("usage")
	if a.usage == nil {
		w.null()
	} else {
		appendResponsesUsage(w, *a.usage)
	}
	w.key("user")
	w.null()
	w.key("metadata")
	w.rawS("{}")
	w.end()
}

// appendResponsesItem writes an output item; status is a message's or call's status
// ("in_progress" when it opens in a stream, else "completed"). An open item has no content yet.
func appendResponsesItem(w *jw, it *respItem, status string) {
	open := status == "in_progress" // an item just added: no content yet
	w.obj()
	w.kStr("id", it.id)
	switch it.kind {
	case Thinking:
		w.kStr("type", "reasoning")
		w.key("summary")
		w.arr()
		if !open {
			w.obj()
			w.kStr("type", "summary_text")
			w.kStr("text", it.text)
			w.end()
		}
		w.endArr()
	case ToolCall:
		w.kStr("type", "function_call")
		w.kStr("status", status)
		w.kStr("call_id", it.callID)
		w.kStr("name", it.name)
		if open {
			w.kStr("arguments", "")
		} else {
			w.kStr("arguments", it.text)
		}
	default:
		w.kStr("type", "message")
		w.kStr("status", status)
		w.kStr("role", "assistant")
		w.key("content")
		w.arr()
		if !open {
			appendResponsesText(w, it.text)
		}
		w.endArr()
	}
	w.end()
}

// appendResponsesText writes an output_text content part.
func appendResponsesText(w *jw, text string) {
	w.obj()
	w.kStr("type", "output_text")
	w.kStr("text", text)
	w.key("annotations")
	w.rawS("[]")
	w.key("logprobs")
	w.rawS("[]")
	w.end()
}

// appendResponsesUsage writes a Responses API usage object.
func appendResponsesUsage(w *jw, u Usage) {
	w.obj()
	w.kInt("input_tokens", u.PromptTokens)
	w.key("input_tokens_details")
	w.obj()
	w.kInt("cached_tokens", u.CachedTokens)
	w.end()
	w.kInt("output_tokens", u.CompletionTokens)
	w.key("output_tokens_details")
	w.obj()
	w.kInt("reasoning_tokens", u.ReasoningTokens)
	w.end()
	w.kInt("total_tokens", u.PromptTokens+u.CompletionTokens)
	w.end()
}
