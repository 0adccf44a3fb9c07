package fakeupstream

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// openAI speaks OpenAI's chat completions wire format.
type openAI struct {
	modelsBody []byte
}

// systemFingerprint is the constant system_fingerprint of every answer.
const systemFingerprint = "fp_f4ce0b5e7d"

var (
	hdrJSON    = []string{"application/json"}
	hdrSSE     = []string{"text/event-stream"}
	hdrNoCache = []string{"no-cache"}
	hdrOAVer   = []string{"2020-10-01"}
)

func newOpenAI(models []string) *openAI {
	b := []byte(`{"object":"list","data":[`)
	for i, id := range models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonx.AppendString(b, id)
		b = append(b, `,"object":"model","created":1715367049,"owned_by":"system"}`...)
	}
	b = append(b, "]}\n"...)
	return &openAI{modelsBody: b}
}

func (o *openAI) routes() []route {
	return []route{
		{method: http.MethodPost, suffix: "/chat/completions", proto: o, scripted: true, serve: o.chat},
		// After chat: "/completions" is also chat's suffix (openai_more.go, openai_responses*.go).
		{method: http.MethodPost, suffix: "/completions", proto: o, scripted: true, serve: o.completion},
		{method: http.MethodPost, suffix: "/responses", proto: o, scripted: true, serve: o.responses},
		{method: http.MethodPost, suffix: "/embeddings", proto: o, scripted: true, serve: o.embeddings},
		{method: http.MethodPost, suffix: "/images/generations", proto: o, scripted: true, serve: o.images},
		{method: http.MethodGet, suffix: "/models", proto: o, serve: o.listModels},
	}
}

// credential returns the bearer token of the Authorization header.
func (o *openAI) credential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
		return strings.TrimSpace(h[len("Bearer "):])
	}
	return ""
}

// setDefault sets a canonical header key unless a scripted header already did.
func setDefault(h http.Header, key string, v []string) {
	if _, ok := h[key]; !ok {
		h[key] = v
	}
}

func (o *openAI) commonHeaders(h http.Header, contentType []string) {
	setDefault(h, "Content-Type", contentType)
	setDefault(h, "X-Request-Id", []string{requestID()})
	setDefault(h, "Openai-Version", hdrOAVer)
}

func (o *openAI) listModels(x *exchange) {
	h := x.w.Header()
	o.commonHeaders(h, hdrJSON)
	h["Content-Length"] = []string{strconv.Itoa(len(o.modelsBody))}
	_, _ = x.w.Write(o.modelsBody)
}

// chatRequest is what the fake needs from a chat completion request.
type chatRequest struct {
	model        gjson.Result
	stream       bool
	includeUsage bool
	promptWords  int
	lastUser     string
}

// parseChat validates body like OpenAI does for the fields the fake uses, answering the error
// itself when the request is invalid.
func (o *openAI) parseChat(x *exchange) (chatRequest, bool) {
	var req chatRequest
	body := string(x.body)
	if !gjson.Valid(body) {
		o.writeError(x, http.StatusBadRequest, msgInvalidJSON, typeInvalidRequest, "", "")
		return req, false
	}
	req.model = gjson.Get(body, "model")
	if req.model.Type != gjson.String || req.model.Str == "" {
		o.writeError(x, http.StatusBadRequest, "you must provide a model parameter", typeInvalidRequest, "", "")
		return req, false
	}
	msgs := gjson.Get(body, "messages")
	if !msgs.IsArray() {
		o.writeError(x, http.StatusBadRequest, "Missing required parameter: 'messages'.", typeInvalidRequest,
			"messages", "missing_required_parameter")
		return req, false
	}
	req.stream = gjson.Get(body, "stream").Type == gjson.True
	if opts := gjson.Get(body, "stream_options"); opts.Exists() && opts.Type != gjson.Null {
		if !req.stream {
			o.writeError(x, http.StatusBadRequest,
				"The 'stream_options' parameter is only allowed when 'stream' is enabled.",
				typeInvalidRequest, "stream_options", "")
			return req, false
		}
		req.includeUsage = opts.Get("include_usage").Type == gjson.True
	}
	n := 0
	msgs.ForEach(func(_, m gjson.Result) bool {
		n++
		content := m.Get("content")
		text := contentText(content)
		req.promptWords += countWords(text)
		if m.Get("role").Str == "user" {
			req.lastUser = text
		}
		return true
	})
	if n == 0 {
		o.writeError(x, http.StatusBadRequest,
			"Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
			typeInvalidRequest, "messages", "empty_array")
		return req, false
	}
	return req, true
}

// contentText returns a message content's text: the string itself, or the "text" of its text parts
// joined by single spaces.
func contentText(content gjson.Result) string {
	if content.Type == gjson.String {
		return content.Str
	}
	if !content.IsArray() {
		return ""
	}
	var sb strings.Builder
	content.ForEach(func(_, part gjson.Result) bool {
		if part.Get("type").Str == "text" {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(part.Get("text").Str)
		}
		return true
	})
	return sb.String()
}

// chat answers POST .../chat/completions.
func (o *openAI) chat(x *exchange) {
	req, ok := o.parseChat(x)
	if !ok {
		return
	}
	rep := x.reply
	text := rep.Text
	if text == "" && len(rep.ToolCalls) == 0 {
		text = "echo: " + req.lastUser
	}
	usage := Usage{PromptTokens: max(req.promptWords, 1), CompletionTokens: countWords(rep.Thinking) + countWords(text),
		ReasoningTokens: countWords(rep.Thinking)}
	if rep.Usage != nil {
		usage = *rep.Usage
	}
	if req.stream {
		o.stream(x, &req, text, usage)
		return
	}
	b := x.scratch.out[:0]
	b = append(b, `{"id":"chatcmpl-`...)
	b = appendID(b, 29)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	b = append(b, `,"model":`...)
	b = append(b, req.model.Raw...)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if text == "" {
		b = append(b, "null"...)
	} else {
		b = jsonx.AppendString(b, text)
	}
	if rep.Thinking != "" {
		b = append(b, `,"reasoning_content":`...)
		b = jsonx.AppendString(b, rep.Thinking)
	}
	finish := "stop"
	if len(rep.ToolCalls) > 0 {
		finish = "tool_calls"
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range rep.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = jsonx.AppendString(b, toolID(tc, "call_", i))
			b = append(b, `,"type":"function","function":{"name":`...)
			b = jsonx.AppendString(b, tc.Name)
			b = append(b, `,"arguments":`...)
			b = jsonx.AppendString(b, tc.Args)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"`+finish+`"}]`...)
	if !rep.OmitUsage {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, usage)
	}
	b = append(b, `,"service_tier":"default","system_fingerprint":"`+systemFingerprint+`"}`+"\n"...)
	x.scratch.out = b

	h := x.w.Header()
	o.commonHeaders(h, hdrJSON)
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	_, _ = x.w.Write(b)
}

// appendUsage appends OpenAI's usage object.
func appendUsage(b []byte, u Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(u.ReasoningTokens), 10)
	return append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}
