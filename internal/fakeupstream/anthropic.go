package fakeupstream

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// anthropic speaks Anthropic's Messages wire format (POST .../v1/messages and
// .../v1/messages/count_tokens, credential in x-api-key, anthropic-version required).
type anthropic struct{}

func (a *anthropic) routes() []route {
	return []route{
		{method: http.MethodPost, suffix: "/messages/count_tokens", proto: a, serve: a.countTokens},
		{method: http.MethodPost, suffix: "/messages", proto: a, scripted: true, serve: a.messages},
	}
}

func (a *anthropic) credential(r *http.Request) string { return r.Header.Get("X-Api-Key") }

// claudeRequest is what the fake needs from a Messages request.
type claudeRequest struct {
	model       gjson.Result
	stream      bool
	promptWords int
	lastUser    string
}

// parse validates the body like the real API does for the fields the fake uses.
func (a *anthropic) parse(x *exchange, needMax bool) (claudeRequest, bool) {
	var req claudeRequest
	if x.r.Header.Get("Anthropic-Version") == "" {
		a.writeError(x, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return req, false
	}
	body := string(x.body)
	if !gjson.Valid(body) {
		a.writeError(x, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request.")
		return req, false
	}
	req.model = gjson.Get(body, "model")
	if req.model.Type != gjson.String || req.model.Str == "" {
		a.writeError(x, http.StatusBadRequest, "invalid_request_error", "model: Field required")
		return req, false
	}
	if needMax && gjson.Get(body, "max_tokens").Type != gjson.Number {
		a.writeError(x, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
		return req, false
	}
	msgs := gjson.Get(body, "messages")
	if !msgs.IsArray() || len(msgs.Array()) == 0 {
		a.writeError(x, http.StatusBadRequest, "invalid_request_error", "messages: Field required")
		return req, false
	}
	req.stream = gjson.Get(body, "stream").Type == gjson.True
	sys := gjson.Get(body, "system")
	if sys.Type == gjson.String {
		req.promptWords += countWords(sys.Str)
	} else {
		req.promptWords += countWords(contentText(sys))
	}
	msgs.ForEach(func(_, m gjson.Result) bool {
		text := contentText(m.Get("content"))
		req.promptWords += countWords(text)
		if m.Get("role").Str == "user" {
			req.lastUser = text
		}
		return true
	})
	return req, true
}

func (a *anthropic) headers(h http.Header, contentType []string) {
	setDefault(h, "Content-Type", contentType)
	setDefault(h, "Request-Id", []string{"req_" + string(appendID(nil, 24))})
}

func (a *anthropic) countTokens(x *exchange) {
	req, ok := a.parse(x, false)
	if !ok {
		return
	}
	b := strconv.AppendInt([]byte(`{"input_tokens":`), int64(max(req.promptWords, 1)), 10)
	b = append(b, "}\n"...)
	a.writeRaw(x, http.StatusOK, b)
}

// claudeUsage is the Claude view of u: input_tokens excludes cache reads and writes.
func appendClaudeUsage(b []byte, u Usage, output bool) []byte {
	writes := u.CacheWrite5mTokens + u.CacheWrite1hTokens
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(max(u.PromptTokens-u.CachedTokens-writes, 0)), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, int64(writes), 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
	b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CacheWrite5mTokens), 10)
	b = append(b, `,"ephemeral_1h_input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CacheWrite1hTokens), 10)
	b = append(b, `},"output_tokens":`...)
	if output {
		b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	} else {
		b = append(b, '1')
	}
	return append(b, `,"service_tier":"standard"}`...)
}

// signature is the fake's thinking signature for a thinking text.
func signature(thinking string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(thinking), " ")
	return "sig-" + first
}

func toolID(tc ToolCall, prefix string, i int) string {
	if tc.ID != "" {
		return tc.ID
	}
	return prefix + strconv.Itoa(i) + "_" + tc.Name
}

// messages answers POST .../v1/messages.
func (a *anthropic) messages(x *exchange) {
	req, ok := a.parse(x, true)
	if !ok {
		return
	}
	rep := x.reply
	text := rep.Text
	if text == "" && len(rep.ToolCalls) == 0 {
		text = "echo: " + req.lastUser
	}
	usage := Usage{PromptTokens: max(req.promptWords, 1), CompletionTokens: countWords(rep.Thinking) + countWords(text)}
	if rep.Usage != nil {
		usage = *rep.Usage
	}
	if req.stream {
		a.stream(x, &req, text, usage)
		return
	}
	b := x.scratch.out[:0]
	b = append(b, `{"id":"msg_`...)
	b = appendID(b, 24)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = append(b, req.model.Raw...)
	b = append(b, `,"content":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if rep.Thinking != "" {
		sep()
		b = append(b, `{"type":"thinking","thinking":`...)
		b = jsonx.AppendString(b, rep.Thinking)
		b = append(b, `,"signature":`...)
		b = jsonx.AppendString(b, signature(rep.Thinking))
		b = append(b, '}')
	}
	if text != "" {
		sep()
		b = append(b, `{"type":"text","text":`...)
		b = jsonx.AppendString(b, text)
		b = append(b, '}')
	}
	for i, tc := range rep.ToolCalls {
		sep()
		b = append(b, `{"type":"tool_use","id":`...)
		b = jsonx.AppendString(b, toolID(tc, "toolu_", i))
		b = append(b, `,"name":`...)
		b = jsonx.AppendString(b, tc.Name)
		b = append(b, `,"input":`...)
		b = append(b, tc.Args...)
		b = append(b, '}')
	}
	stop := "end_turn"
	if len(rep.ToolCalls) > 0 {
		stop = "tool_use"
	}
	b = append(b, `],"stop_reason":"`+stop+`","stop_sequence":null,"usage":`...)
	b = appendClaudeUsage(b, usage, true)
	b = append(b, "}\n"...)
	x.scratch.out = b
	a.writeRaw(x, http.StatusOK, b)
}

func (a *anthropic) writeRaw(x *exchange, status int, body []byte) {
	h := x.w.Header()
	a.headers(h, hdrJSON)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}
