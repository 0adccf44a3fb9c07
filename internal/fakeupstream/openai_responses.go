package fakeupstream

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// responsesRequest is what the fake needs from a Responses API request.
type responsesRequest struct {
	model        gjson.Result
	stream       bool
	obfuscation  bool // stream deltas carry an "obfuscation" field (stream_options.include_obfuscation)
	promptWords  int
	lastUser     string
	instructions gjson.Result
	tools        gjson.Result
}

// parseResponses validates a Responses API request like OpenAI does for the fields the fake uses,
// answering the error itself when it is invalid. Like the real API it rejects unknown members of
// stream_options (it only knows include_obfuscation; include_usage belongs to chat completions).
func (o *openAI) parseResponses(x *exchange) (responsesRequest, bool) {
	var req responsesRequest
	var ok bool
	if req.model, ok = o.parseModel(x); !ok {
		return req, false
	}
	req.stream = gjson.GetBytes(x.body, "stream").Type == gjson.True
	req.obfuscation = true
	if opts := gjson.GetBytes(x.body, "stream_options"); opts.IsObject() {
		unknown := ""
		opts.ForEach(func(k, v gjson.Result) bool {
			if k.Str == "include_obfuscation" {
				req.obfuscation = v.Type != gjson.False
				return true
			}
			unknown = "stream_options." + k.Str
			return false
		})
		if unknown != "" {
			o.writeError(x, http.StatusBadRequest, "Unknown parameter: '"+unknown+"'.", typeInvalidRequest,
				unknown, "unknown_parameter")
			return req, false
		}
	}
	req.instructions = gjson.GetBytes(x.body, "instructions")
	if req.instructions.Type == gjson.String {
		req.promptWords = countWords(req.instructions.Str)
	}
	req.tools = gjson.GetBytes(x.body, "tools")
	input := gjson.GetBytes(x.body, "input")
	if input.Type == gjson.String {
		req.promptWords += countWords(input.Str)
		req.lastUser = input.Str
		return req, true
	}
	input.ForEach(func(_, it gjson.Result) bool {
		text := itemText(it)
		req.promptWords += countWords(text)
		if it.Get("role").Str == "user" {
			req.lastUser = text
		}
		return true
	})
	return req, true
}

// itemText returns the text of a Responses input item: a message's string content or the text of
// its parts joined by single spaces, a function call output's output.
func itemText(it gjson.Result) string {
	if it.Get("type").Str == "function_call_output" {
		return it.Get("output").String()
	}
	content := it.Get("content")
	if content.Type == gjson.String {
		return content.Str
	}
	var text []byte
	content.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String {
			if len(text) > 0 {
				text = append(text, ' ')
			}
			text = append(text, t.Str...)
		}
		return true
	})
	return string(text)
}

// hasTools reports whether the request offers tools.
func (r *responsesRequest) hasTools() bool { return r.tools.IsArray() && len(r.tools.Array()) > 0 }

// respAnswer is one Responses API answer being rendered: the ids of its output items and what
// they hold.
type respAnswer struct {
	req         *responsesRequest
	id          string
	created     int64
	thinking    string
	text        string
	calls       []ToolCall
	reasoningID string
	messageID   string
	callIDs     []string // the function_call items' ids
	usage       Usage
	omitUsage   bool
}

// newRespAnswer builds the answer to req for the exchange's reply: the echo answer unless the
// reply scripts a text; scripted tool calls only when the request offers tools.
func newRespAnswer(x *exchange, req *responsesRequest) *respAnswer {
	rep := x.reply
	a := &respAnswer{req: req, created: time.Now().Unix(), thinking: rep.Thinking, text: rep.Text, omitUsage: rep.OmitUsage}
	if req.hasTools() {
		a.calls = rep.ToolCalls
	}
	if a.text == "" && len(a.calls) == 0 {
		a.text = "echo: " + req.lastUser
	}
	a.id = "resp_" + string(appendID(nil, 48))
	if a.thinking != "" {
		a.reasoningID = "rs_" + string(appendID(nil, 48))
	}
	if a.text != "" {
		a.messageID = "msg_" + string(appendID(nil, 48))
	}
	for range a.calls {
		a.callIDs = append(a.callIDs, "fc_"+string(appendID(nil, 48)))
	}
	a.usage = Usage{PromptTokens: max(req.promptWords, 1), CompletionTokens: countWords(a.thinking) + countWords(a.text),
		ReasoningTokens: countWords(a.thinking)}
	if rep.Usage != nil {
		a.usage = *rep.Usage
	}
	return a
}

// responses answers POST .../responses.
func (o *openAI) responses(x *exchange) {
	req, ok := o.parseResponses(x)
	if !ok {
		return
	}
	a := newRespAnswer(x, &req)
	if req.stream {
		o.responsesStream(x, a)
		return
	}
	b := appendResponse(x.scratch.out[:0], a, "completed")
	b = append(b, '\n')
	x.scratch.out = b
	o.writeRaw(x, http.StatusOK, b)
}

// appendResponse appends the response object; an in_progress one has no output and no usage.
func appendResponse(b []byte, a *respAnswer, status string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, a.id...)
	b = append(b, `","object":"response","created_at":`...)
	b = strconv.AppendInt(b, a.created, 10)
	b = append(b, `,"status":"`+status+`","background":false,"error":null,"incomplete_details":null,"instructions":`...)
	b = appendRawOrNull(b, a.req.instructions)
	b = append(b, `,"max_output_tokens":null,"max_tool_calls":null,"model":`...)
	b = append(b, a.req.model.Raw...)
	b = append(b, `,"output":[`...)
	if status != "in_progress" {
		b = a.appendOutput(b)
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,`+
		`"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","store":true,`+
		`"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":`...)
	if a.req.tools.IsArray() {
		b = append(b, a.req.tools.Raw...)
	} else {
		b = append(b, "[]"...)
	}
	b = append(b, `,"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":`...)
	if status == "in_progress" || a.omitUsage {
		b = append(b, "null"...)
	} else {
		b = appendResponsesUsage(b, a.usage)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

func appendRawOrNull(b []byte, v gjson.Result) []byte {
	if !v.Exists() {
		return append(b, "null"...)
	}
	return append(b, v.Raw...)
}

// appendOutput appends the completed output items: reasoning, message, function calls.
func (a *respAnswer) appendOutput(b []byte) []byte {
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if a.reasoningID != "" {
		sep()
		b = appendReasoningItem(b, a.reasoningID, a.thinking, true)
	}
	if a.messageID != "" {
		sep()
		b = appendMessageItem(b, a.messageID, a.text, true)
	}
	for i, tc := range a.calls {
		sep()
		b = appendFunctionCallItem(b, a.callIDs[i], tc, i, true)
	}
	return b
}

// appendResponsesUsage appends the Responses API's usage object.
func appendResponsesUsage(b []byte, u Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(u.ReasoningTokens), 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	return append(b, '}')
}

// appendReasoningItem appends a reasoning item; an item just added has an empty summary.
func appendReasoningItem(b []byte, id, summary string, done bool) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"reasoning","summary":[`...)
	if done {
		b = appendSummaryPart(b, summary)
	}
	return append(b, "]}"...)
}

func appendSummaryPart(b []byte, text string) []byte {
	b = append(b, `{"type":"summary_text","text":`...)
	b = jsonx.AppendString(b, text)
	return append(b, '}')
}

// appendMessageItem appends an assistant message item; an item just added has no content yet.
func appendMessageItem(b []byte, id, text string, done bool) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	if !done {
		return append(b, `","type":"message","status":"in_progress","content":[],"role":"assistant"}`...)
	}
	b = append(b, `","type":"message","status":"completed","content":[`...)
	b = appendOutputText(b, text)
	return append(b, `],"role":"assistant"}`...)
}

func appendOutputText(b []byte, text string) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	b = jsonx.AppendString(b, text)
	return append(b, '}')
}

// appendFunctionCallItem appends a function_call item; an item just added has no arguments yet.
func appendFunctionCallItem(b []byte, id string, tc ToolCall, i int, done bool) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"function_call","status":`...)
	args := ""
	if done {
		b = append(b, `"completed"`...)
		args = tc.Args
	} else {
		b = append(b, `"in_progress"`...)
	}
	b = append(b, `,"arguments":`...)
	b = jsonx.AppendString(b, args)
	b = append(b, `,"call_id":`...)
	b = jsonx.AppendString(b, toolID(tc, "call_", i))
	b = append(b, `,"name":`...)
	b = jsonx.AppendString(b, tc.Name)
	return append(b, '}')
}
