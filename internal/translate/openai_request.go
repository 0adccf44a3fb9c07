package translate

import (
	"strings"

	"github.com/tidwall/gjson"
)

// DecodeOpenAIRequest reads an OpenAI chat completion request.
func DecodeOpenAIRequest(body []byte) (*Request, error) {
	root, err := requestObject(body)
	if err != nil {
		return nil, err
	}
	r := &Request{Model: root.Get("model").String()}
	r.Stream = root.Get("stream").Type == gjson.True
	r.IncludeUsage = root.Get("stream_options.include_usage").Type == gjson.True
	r.Temperature = floatPtr(root.Get("temperature"))
	r.TopP = floatPtr(root.Get("top_p"))
	r.Seed = rawNumber(root.Get("seed"))
	r.User = root.Get("user").String()
	r.Stop = stringList(root.Get("stop"))
	if v := root.Get("max_completion_tokens"); v.Type == gjson.Number {
		r.MaxTokens = v.Int()
	} else if v := root.Get("max_tokens"); v.Type == gjson.Number {
		r.MaxTokens = v.Int()
	}
	if n := root.Get("n"); n.Type == gjson.Number && n.Int() > 1 {
		return nil, errorf("n > 1 is not supported when the model is served by another protocol")
	}
	if e := root.Get("reasoning_effort"); e.Type == gjson.String {
		if e.Str == "none" {
			r.Reasoning.Off = true
		} else {
			r.Reasoning.Effort = e.Str
		}
	}
	if err := decodeOpenAIFormat(root.Get("response_format"), r); err != nil {
		return nil, err
	}
	if err := decodeOpenAITools(root, r); err != nil {
		return nil, err
	}
	names := map[string]string{} // tool call id → function name, for Gemini's function responses
	root.Get("messages").ForEach(func(_, m gjson.Result) bool {
		err = decodeOpenAIMessage(m, r, names)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func decodeOpenAIFormat(f gjson.Result, r *Request) error {
	switch f.Get("type").String() {
	case "", "text":
	case "json_object":
		r.Format.Kind = FormatJSON
	case "json_schema":
		r.Format = Format{Kind: FormatJSONSchema, Name: f.Get("json_schema.name").String(),
			Schema: rawObject(f.Get("json_schema.schema")), Strict: f.Get("json_schema.strict").Bool()}
	default:
		return errorf("response_format type %q is not supported", f.Get("type").String())
	}
	return nil
}

func decodeOpenAITools(root gjson.Result, r *Request) error {
	var err error
	root.Get("tools").ForEach(func(_, t gjson.Result) bool {
		if typ := t.Get("type").String(); typ != "function" && typ != "" {
			err = errorf("tool type %q is not supported when the model is served by another protocol", typ)
			return false
		}
		fn := t.Get("function")
		r.Tools = append(r.Tools, Tool{Name: fn.Get("name").String(), Description: fn.Get("description").String(),
			Parameters: rawObject(fn.Get("parameters"))})
		return true
	})
	if err != nil {
		return err
	}
	tc := root.Get("tool_choice")
	switch {
	case tc.Type == gjson.String:
		switch tc.Str {
		case "auto":
			r.Choice.Mode = ToolAuto
		case "none":
			r.Choice.Mode = ToolNone
		case "required":
			r.Choice.Mode = ToolRequired
		default:
			return errorf("tool_choice %q is not supported", tc.Str)
		}
	case tc.IsObject():
		name := tc.Get("function.name").String()
		if name == "" {
			return errorf("tool_choice must name a function")
		}
		r.Choice = ToolChoice{Mode: ToolNamed, Name: name}
	}
	if root.Get("parallel_tool_calls").Type == gjson.False {
		r.NoParallel = true
	}
	return nil
}

func decodeOpenAIMessage(m gjson.Result, r *Request, names map[string]string) error {
	role := m.Get("role").String()
	content := m.Get("content")
	switch role {
	case "system", "developer":
		parts, err := decodeOpenAIContent(content, false)
		if err != nil {
			return err
		}
		r.System = append(r.System, parts...)
	case "user":
		parts, err := decodeOpenAIContent(content, true)
		if err != nil {
			return err
		}
		appendMessage(r, User, parts...)
	case "assistant":
		var parts []Part
		if rc := get(m, "reasoning_content", "reasoning"); rc.Type == gjson.String && rc.Str != "" {
			parts = append(parts, Part{Kind: Thinking, Text: rc.Str})
		}
		text, err := decodeOpenAIContent(content, false)
		if err != nil {
			return err
		}
		parts = append(parts, text...)
		if rf := m.Get("refusal"); rf.Type == gjson.String && rf.Str != "" {
			parts = append(parts, Part{Kind: Text, Text: rf.Str})
		}
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			id, name := tc.Get("id").String(), tc.Get("function.name").String()
			names[id] = name
			parts = append(parts, Part{Kind: ToolCall, ToolID: id, ToolName: name,
				Args: validArgs([]byte(tc.Get("function.arguments").String()))})
			return true
		})
		appendMessage(r, Assistant, parts...)
	case "tool":
		id := m.Get("tool_call_id").String()
		res, err := decodeOpenAIContent(content, true)
		if err != nil {
			return err
		}
		appendMessage(r, User, Part{Kind: ToolResult, ToolID: id, ToolName: names[id], Result: res})
	default:
		return errorf("message role %q is not supported when the model is served by another protocol", role)
	}
	return nil
}

// appendMessage adds parts to the conversation, merging them into the last message when it has
// the same role (Claude and Gemini want tool results of one turn in one message).
func appendMessage(r *Request, role Role, parts ...Part) {
	if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == role {
		r.Messages[n-1].Parts = append(r.Messages[n-1].Parts, parts...)
		return
	}
	r.Messages = append(r.Messages, Message{Role: role, Parts: parts})
}

func decodeOpenAIContent(c gjson.Result, images bool) ([]Part, error) {
	if c.Type == gjson.String {
		return []Part{{Kind: Text, Text: c.Str}}, nil
	}
	var out []Part
	var err error
	c.ForEach(func(_, p gjson.Result) bool {
		switch typ := p.Get("type").String(); typ {
		case "text", "input_text":
			out = append(out, Part{Kind: Text, Text: p.Get("text").String()})
		case "refusal":
			out = append(out, Part{Kind: Text, Text: p.Get("refusal").String()})
		case "image_url":
			if !images {
				err = errorf("image content is only supported in user and tool messages")
				return false
			}
			u := p.Get("image_url.url").String()
			if u == "" {
				u = p.Get("image_url").String()
			}
			if mt, data, ok := parseDataURL(u); ok {
				out = append(out, Part{Kind: Image, MediaType: mt, Data: data})
			} else {
				out = append(out, Part{Kind: Image, URL: u, MediaType: mediaTypeOfURL(u)})
			}
		default:
			err = errorf("content part type %q is not supported when the model is served by another protocol", typ)
			return false
		}
		return true
	})
	return out, err
}

// EncodeOpenAIRequest writes r as an OpenAI chat completion request. Streams ask for usage.
func EncodeOpenAIRequest(r *Request) []byte {
	w := &jw{b: make([]byte, 0, 1024)}
	w.obj()
	w.kStr("model", r.Model)
	w.key("messages")
	w.arr()
	if len(r.System) > 0 {
		w.obj()
		w.kStr("role", "system")
		w.kStr("content", textOf(r.System))
		w.end()
	}
	for i := range r.Messages {
		encodeOpenAIMessage(w, &r.Messages[i])
	}
	w.endArr()
	if r.Stream {
		w.key("stream")
		w.bool(true)
		w.key("stream_options")
		w.rawS(`{"include_usage":true}`)
	}
	if r.MaxTokens > 0 {
		if r.Reasoning.Requested() {
			w.kInt("max_completion_tokens", r.MaxTokens)
		} else {
			w.kInt("max_tokens", r.MaxTokens)
		}
	}
	if r.Temperature != nil {
		w.key("temperature")
		w.float(*r.Temperature)
	}
	if r.TopP != nil {
		w.key("top_p")
		w.float(*r.TopP)
	}
	if len(r.Stop) > 0 {
		w.key("stop")
		w.arr()
		for _, s := range r.Stop[:min(len(r.Stop), 4)] {
			w.str(s)
		}
		w.endArr()
	}
	if len(r.Seed) > 0 {
		w.kRaw("seed", r.Seed)
	}
	if r.User != "" {
		w.kStr("user", r.User)
	}
	if r.Reasoning.Requested() {
		w.kStr("reasoning_effort", effortOf(r.Reasoning))
	}
	switch r.Format.Kind {
	case FormatJSON:
		w.key("response_format")
		w.rawS(`{"type":"json_object"}`)
	case FormatJSONSchema:
		w.key("response_format")
		w.obj()
		w.kStr("type", "json_schema")
		w.key("json_schema")
		w.obj()
		name := r.Format.Name
		if name == "" {
			name = "response"
		}
		w.kStr("name", name)
		w.kRaw("schema", orEmptyObject(r.Format.Schema))
		if r.Format.Strict {
			w.key("strict")
			w.bool(true)
		}
		w.end()
		w.end()
	}
	if len(r.Tools) > 0 {
		w.key("tools")
		w.arr()
		for _, t := range r.Tools {
			w.obj()
			w.kStr("type", "function")
			w.key("function")
			w.obj()
			w.kStr("name", t.Name)
			if t.Description != "" {
				w.kStr("description", t.Description)
			}
			w.kRaw("parameters", orEmptySchema(t.Parameters))
			w.end()
			w.end()
		}
		w.endArr()
		if r.NoParallel {
			w.key("parallel_tool_calls")
			w.bool(false)
		}
	}
	switch r.Choice.Mode {
	case ToolAuto:
		w.kStr("tool_choice", "auto")
	case ToolNone:
		w.kStr("tool_choice", "none")
	case ToolRequired:
		w.kStr("tool_choice", "required")
	case ToolNamed:
		w.key("tool_choice")
		w.obj()
		w.kStr("type", "function")
		w.key("function")
		w.obj()
		w.kStr("name", r.Choice.Name)
		w.end()
		w.end()
	}
	w.end()
	return w.b
}

func encodeOpenAIMessage(w *jw, m *Message) {
	if m.Role == Assistant {
		w.obj()
		w.kStr("role", "assistant")
		text := textOf(m.Parts)
		w.key("content")
		if text == "" {
			w.null()
		} else {
			w.str(text)
		}
		appendOpenAIToolCalls(w, m.Parts)
		w.end()
		return
	}
	// A user turn: tool results first (each its own "tool" message), then the rest.
	var rest []Part
	for _, p := range m.Parts {
		if p.Kind != ToolResult {
			rest = append(rest, p)
			continue
		}
		w.obj()
		w.kStr("role", "tool")
		w.kStr("tool_call_id", p.ToolID)
		text := textOf(p.Result)
		if p.IsError && !strings.HasPrefix(text, "Error") {
			text = "Error: " + text
		}
		w.kStr("content", text)
		w.end()
		for _, rp := range p.Result {
			if rp.Kind == Image { // tool messages carry text only: images follow as user content
				rest = append(rest, rp)
			}
		}
	}
	if len(rest) == 0 {
		return
	}
	w.obj()
	w.kStr("role", "user")
	w.key("content")
	if len(rest) == 1 && rest[0].Kind == Text {
		w.str(rest[0].Text)
	} else {
		w.arr()
		for _, p := range rest {
			switch p.Kind {
			case Text:
				w.obj()
				w.kStr("type", "text")
				w.kStr("text", p.Text)
				w.end()
			case Image:
				w.obj()
				w.kStr("type", "image_url")
				w.key("image_url")
				w.obj()
				if p.URL != "" {
					w.kStr("url", p.URL)
				} else {
					w.kStr("url", "data:"+p.MediaType+";base64,"+p.Data)
				}
				w.end()
				w.end()
			}
		}
		w.endArr()
	}
	w.end()
}

func orEmptyObject(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

func orEmptySchema(b []byte) []byte {
	if len(b) == 0 {
		return []byte(`{"type":"object","properties":{}}`)
	}
	return b
}

// effortOf expresses reasoning as an OpenAI effort.
func effortOf(r Reasoning) string {
	if r.Effort != "" {
		return r.Effort
	}
	switch {
	case r.Budget < 2048:
		return "low"
	case r.Budget < 16384:
		return "medium"
	}
	return "high"
}

// budgetOf expresses reasoning as a token budget.
func budgetOf(r Reasoning) int64 {
	if r.Budget > 0 {
		return r.Budget
	}
	switch r.Effort {
	case "minimal":
		return 1024
	case "low":
		return 2048
	case "medium":
		return 8192
	}
	return 24576
}
