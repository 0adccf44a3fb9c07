package translate

import (
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// DefaultClaudeMaxTokens is the max_tokens sent to Claude, which requires it, when the caller set none.
const DefaultClaudeMaxTokens = 8192

// The top-level members of a Messages request that translation reads, in one pass (members).
const (
	cfModel = iota
	cfMaxTokens
	cfStream
	cfTemperature
	cfTopP
	cfTopK
	cfStop
	cfMetadata
	cfSystem
	cfThinking
	cfOutputFormat
	cfOutputConfig
	cfTools
	cfToolChoice
	cfMessages
	claudeFieldCount
)

var claudeFields = [claudeFieldCount]string{"model", "max_tokens", "stream", "temperature", "top_p", "top_k",
	"stop_sequences", "metadata", "system", "thinking", "output_format", "output_config", "tools", "tool_choice", "messages"}

// roleContent are the members of a chat message read first.
var roleContent = [2]string{"role", "content"}

// DecodeClaudeRequest reads an Anthropic Messages request.
func DecodeClaudeRequest(body []byte) (*Request, error) {
	var f [claudeFieldCount]gjson.Result
	if !jsonx.ParseMembers(body, claudeFields[:], f[:]) {
		if _, err := requestObject(body); err != nil {
			return nil, err
		}
		return nil, errorf("the request body is not valid JSON") // nested beyond the scanner's depth
	}
	r := &Request{Model: f[cfModel].String(), MaxTokens: f[cfMaxTokens].Int()}
	r.Stream = f[cfStream].Type == gjson.True
	r.Temperature = floatPtr(f[cfTemperature])
	r.TopP = floatPtr(f[cfTopP])
	r.TopK = intPtr(f[cfTopK])
	r.Stop = stringList(f[cfStop])
	r.User = f[cfMetadata].Get("user_id").String()
	sys := f[cfSystem]
	if sys.Type == gjson.String {
		r.System = []Part{{Kind: Text, Text: sys.Str}}
	} else {
		sys.ForEach(func(_, b gjson.Result) bool {
			if b.Get("type").String() == "text" {
				r.System = append(r.System, Part{Kind: Text, Text: b.Get("text").String()})
			}
			return true
		})
	}
	switch th := f[cfThinking]; th.Get("type").String() {
	case "enabled":
		r.Reasoning.Budget = max(th.Get("budget_tokens").Int(), 1024)
	case "adaptive":
		r.Reasoning.Effort = "medium"
	case "disabled":
		r.Reasoning.Off = true
	}
	format := f[cfOutputFormat]
	if !format.Exists() {
		format = f[cfOutputConfig].Get("format")
	}
	if format.Get("type").String() == "json_schema" {
		r.Format = Format{Kind: FormatJSONSchema, Schema: rawObject(format.Get("schema")), Strict: true}
	}
	var err error
	f[cfTools].ForEach(func(_, t gjson.Result) bool {
		if typ := t.Get("type").String(); typ != "" && typ != "custom" {
			err = errorf("tool type %q is not supported when the model is served by another protocol", typ)
			return false
		}
		r.Tools = append(r.Tools, Tool{Name: t.Get("name").String(), Description: t.Get("description").String(),
			Parameters: rawObject(t.Get("input_schema"))})
		return true
	})
	if err != nil {
		return nil, err
	}
	tc := f[cfToolChoice]
	switch tc.Get("type").String() {
	case "auto":
		r.Choice.Mode = ToolAuto
	case "any":
		r.Choice.Mode = ToolRequired
	case "none":
		r.Choice.Mode = ToolNone
	case "tool":
		r.Choice = ToolChoice{Mode: ToolNamed, Name: tc.Get("name").String()}
	}
	r.NoParallel = tc.Get("disable_parallel_tool_use").Bool()
	f[cfMessages].ForEach(func(_, m gjson.Result) bool {
		var mf [2]gjson.Result
		jsonx.Members(m, roleContent[:], mf[:])
		role := User
		switch mf[0].String() {
		case "user":
		case "assistant":
			role = Assistant
		default:
			err = errorf("message role %q is not supported", mf[0].String())
			return false
		}
		var parts []Part
		parts, err = decodeClaudeContent(mf[1])
		if err != nil {
			return false
		}
		appendMessage(r, role, parts...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func decodeClaudeContent(c gjson.Result) ([]Part, error) {
	if c.Type == gjson.String {
		return []Part{{Kind: Text, Text: c.Str}}, nil
	}
	var out []Part
	var err error
	c.ForEach(func(_, b gjson.Result) bool {
		switch typ := b.Get("type").String(); typ {
		case "text":
			out = append(out, Part{Kind: Text, Text: b.Get("text").String()})
		case "image":
			src := b.Get("source")
			switch src.Get("type").String() {
			case "base64":
				out = append(out, Part{Kind: Image, MediaType: src.Get("media_type").String(), Data: src.Get("data").String()})
			case "url":
				u := src.Get("url").String()
				out = append(out, Part{Kind: Image, URL: u, MediaType: mediaTypeOfURL(u)})
			default:
				err = errorf("image source type %q is not supported", src.Get("type").String())
				return false
			}
		case "tool_use":
			out = append(out, Part{Kind: ToolCall, ToolID: b.Get("id").String(), ToolName: b.Get("name").String(),
				Args: validArgs([]byte(b.Get("input").Raw))})
		case "tool_result":
			var res []Part
			res, err = decodeClaudeContent(b.Get("content"))
			if err != nil {
				return false
			}
			out = append(out, Part{Kind: ToolResult, ToolID: b.Get("tool_use_id").String(), Result: res,
				IsError: b.Get("is_error").Bool()})
		case "thinking":
			out = append(out, Part{Kind: Thinking, Text: b.Get("thinking").String(), Signature: b.Get("signature").String()})
		case "redacted_thinking":
			out = append(out, Part{Kind: RedactedThinking, Data: b.Get("data").String()})
		default:
			err = errorf("content block type %q is not supported when the model is served by another protocol", typ)
			return false
		}
		return true
	})
	return out, err
}

// EncodeClaudeRequest writes r as an Anthropic Messages request.
func EncodeClaudeRequest(r *Request) []byte {
	w := &jw{b: make([]byte, 0, 1024)}
	w.obj()
	w.kStr("model", r.Model)
	thinking := r.Reasoning.Requested() && claudeThinkingAllowed(r)
	budget := budgetOf(r.Reasoning)
	maxTokens := r.MaxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultClaudeMaxTokens
	}
	if thinking && maxTokens <= budget {
		maxTokens = budget + DefaultClaudeMaxTokens
	}
	w.kInt("max_tokens", maxTokens)
	system := textOf(r.System)
	switch r.Format.Kind {
	case FormatJSON:
		system = joinNonEmpty(system, "Respond with a single JSON object and nothing else.")
	case FormatJSONSchema:
		system = joinNonEmpty(system, "Respond with a single JSON value that matches this JSON Schema, and nothing else: "+
			string(orEmptyObject(r.Format.Schema)))
	}
	if system != "" {
		w.kStr("system", system)
	}
	w.key("messages")
	w.arr()
	for i := range r.Messages {
		m := &r.Messages[i]
		w.obj()
		if m.Role == Assistant {
			w.kStr("role", "assistant")
		} else {
			w.kStr("role", "user")
		}
		w.key("content")
		w.arr()
		for j := range m.Parts {
			encodeClaudePart(w, &m.Parts[j], m.Role == Assistant && thinking)
		}
		w.endArr()
		w.end()
	}
	w.endArr()
	if r.Stream {
		w.key("stream")
		w.bool(true)
	}
	if thinking {
		w.key("thinking")
		w.obj()
		w.kStr("type", "enabled")
		w.kInt("budget_tokens", budget)
		w.end()
	} else {
		if r.Temperature != nil {
			w.key("temperature")
			w.float(min(*r.Temperature, 1))
		}
		if r.TopP != nil {
			w.key("top_p")
			w.float(*r.TopP)
		}
		if r.TopK != nil {
			w.kInt("top_k", *r.TopK)
		}
	}
	if len(r.Stop) > 0 {
		w.key("stop_sequences")
		w.arr()
		for _, s := range r.Stop {
			w.str(s)
		}
		w.endArr()
	}
	if r.User != "" {
		w.key("metadata")
		w.obj()
		w.kStr("user_id", r.User)
		w.end()
	}
	if len(r.Tools) > 0 {
		w.key("tools")
		w.arr()
		for _, t := range r.Tools {
			w.obj()
			w.kStr("name", t.Name)
			if t.Description != "" {
				w.kStr("description", t.Description)
			}
			w.kRaw("input_schema", orEmptySchema(t.Parameters))
			w.end()
		}
		w.endArr()
		if r.Choice.Mode != ToolNone || r.NoParallel {
			w.key("tool_choice")
			w.obj()
			switch r.Choice.Mode {
			case ToolRequired:
				w.kStr("type", "any")
			case ToolNamed:
				w.kStr("type", "tool")
				w.kStr("name", r.Choice.Name)
			default:
				w.kStr("type", "auto")
			}
			if r.NoParallel {
				w.key("disable_parallel_tool_use")
				w.bool(true)
			}
			w.end()
		} else {
			w.key("tool_choice")
			w.rawS(`{"type":"none"}`)
		}
	}
	w.end()
	return w.b
}

// claudeThinkingAllowed reports whether Claude accepts thinking for r: not with a forced tool
// choice, and not when the last assistant turn used tools without its signed thinking block
// (which a caller of another protocol cannot send back).
func claudeThinkingAllowed(r *Request) bool {
	if r.Choice.Mode == ToolRequired || r.Choice.Mode == ToolNamed {
		return false
	}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		m := &r.Messages[i]
		if m.Role != Assistant {
			continue
		}
		if !hasKind(m.Parts, ToolCall) {
			return true
		}
		for _, p := range m.Parts {
			if (p.Kind == Thinking && p.Signature != "") || p.Kind == RedactedThinking {
				return true
			}
		}
		return false
	}
	return true
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
}

func encodeClaudePart(w *jw, p *Part, keepThinking bool) {
	switch p.Kind {
	case Text:
		if p.Text == "" {
			return
		}
		w.obj()
		w.kStr("type", "text")
		w.kStr("text", p.Text)
		w.end()
	case Image:
		w.obj()
		w.kStr("type", "image")
		w.key("source")
		w.obj()
		if p.URL != "" {
			w.kStr("type", "url")
			w.kStr("url", p.URL)
		} else {
			w.kStr("type", "base64")
			w.kStr("media_type", p.MediaType)
			w.kStr("data", p.Data)
		}
		w.end()
		w.end()
	case ToolCall:
		w.obj()
		w.kStr("type", "tool_use")
		w.kStr("id", p.ToolID)
		w.kStr("name", p.ToolName)
		w.kRaw("input", validArgs(p.Args))
		w.end()
	case ToolResult:
		w.obj()
		w.kStr("type", "tool_result")
		w.kStr("tool_use_id", p.ToolID)
		if p.IsError {
			w.key("is_error")
			w.bool(true)
		}
		w.key("content")
		w.arr()
		for i := range p.Result {
			encodeClaudePart(w, &p.Result[i], false)
		}
		w.endArr()
		w.end()
	case Thinking:
		// Only Claude's own signed thinking may be sent back; other providers' thoughts are dropped.
		if !keepThinking || p.Signature == "" {
			return
		}
		w.obj()
		w.kStr("type", "thinking")
		w.kStr("thinking", p.Text)
		w.kStr("signature", p.Signature)
		w.end()
	case RedactedThinking:
		if !keepThinking {
			return
		}
		w.obj()
		w.kStr("type", "redacted_thinking")
		w.kStr("data", p.Data)
		w.end()
	}
}
