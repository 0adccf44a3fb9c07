package translate

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// DecodeGeminiRequest reads a Gemini generateContent request (camelCase or snake_case fields).
// The model and the stream flag come from the URL, not the body.
func DecodeGeminiRequest(body []byte, model string, stream bool) (*Request, error) {
	root, err := requestObject(body)
	if err != nil {
		return nil, err
	}
	r := &Request{Model: model, Stream: stream}
	get(root, "systemInstruction", "system_instruction").Get("parts").ForEach(func(_, p gjson.Result) bool {
		if t := p.Get("text"); t.Exists() {
			r.System = append(r.System, Part{Kind: Text, Text: t.String()})
		}
		return true
	})
	gc := get(root, "generationConfig", "generation_config")
	r.Temperature = floatPtr(gc.Get("temperature"))
	r.TopP = floatPtr(get(gc, "topP", "top_p"))
	r.TopK = intPtr(get(gc, "topK", "top_k"))
	r.MaxTokens = get(gc, "maxOutputTokens", "max_output_tokens").Int()
	r.Stop = stringList(get(gc, "stopSequences", "stop_sequences"))
	r.Seed = rawNumber(gc.Get("seed"))
	if n := get(gc, "candidateCount", "candidate_count").Int(); n > 1 {
		return nil, errorf("candidateCount > 1 is not supported when the model is served by another protocol")
	}
	if schema := get(gc, "responseJsonSchema", "response_json_schema", "responseSchema", "response_schema"); schema.IsObject() {
		r.Format = Format{Kind: FormatJSONSchema, Schema: geminiSchemaToJSON(schema), Strict: true}
	} else if get(gc, "responseMimeType", "response_mime_type").String() == "application/json" {
		r.Format.Kind = FormatJSON
	}
	tc := get(gc, "thinkingConfig", "thinking_config")
	if b := get(tc, "thinkingBudget", "thinking_budget"); b.Type == gjson.Number {
		switch v := b.Int(); {
		case v == 0:
			r.Reasoning.Off = true
		case v < 0:
			r.Reasoning.Effort = "medium"
		default:
			r.Reasoning.Budget = v
		}
	} else if l := get(tc, "thinkingLevel", "thinking_level"); l.Type == gjson.String {
		r.Reasoning.Effort = strings.ToLower(l.Str)
	} else if get(tc, "includeThoughts", "include_thoughts").Bool() {
		r.Reasoning.Effort = "medium"
	}
	root.Get("tools").ForEach(func(_, t gjson.Result) bool {
		decls := get(t, "functionDeclarations", "function_declarations")
		if !decls.Exists() {
			err = errorf("Gemini tools other than function declarations are not supported when the model is served by another protocol")
			return false
		}
		decls.ForEach(func(_, f gjson.Result) bool {
			tool := Tool{Name: f.Get("name").String(), Description: f.Get("description").String()}
			if p := get(f, "parametersJsonSchema", "parameters_json_schema"); p.IsObject() {
				tool.Parameters = []byte(p.Raw)
			} else if p := f.Get("parameters"); p.IsObject() {
				tool.Parameters = geminiSchemaToJSON(p)
			}
			r.Tools = append(r.Tools, tool)
			return true
		})
		return true
	})
	if err != nil {
		return nil, err
	}
	fc := get(get(root, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config")
	switch fc.Get("mode").String() {
	case "AUTO", "VALIDATED":
		r.Choice.Mode = ToolAuto
	case "NONE":
		r.Choice.Mode = ToolNone
	case "ANY":
		r.Choice.Mode = ToolRequired
		if names := stringList(get(fc, "allowedFunctionNames", "allowed_function_names")); len(names) == 1 {
			r.Choice = ToolChoice{Mode: ToolNamed, Name: names[0]}
		}
	}
	calls := &geminiCalls{}
	root.Get("contents").ForEach(func(_, c gjson.Result) bool {
		role := User
		if c.Get("role").String() == "model" {
			role = Assistant
		}
		var parts []Part
		parts, err = decodeGeminiParts(c.Get("parts"), calls)
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

// geminiCalls gives Gemini function calls, which may carry no id, stable ids, and pairs each
// function response with the earliest unanswered call of the same name.
type geminiCalls struct {
	n       int
	pending []Part
}

func (g *geminiCalls) call(id, name string) string {
	if id == "" {
		id = "call_" + strconv.Itoa(g.n) + "_" + name
	}
	g.n++
	g.pending = append(g.pending, Part{ToolID: id, ToolName: name})
	return id
}

func (g *geminiCalls) response(id, name string) string {
	for i, p := range g.pending {
		if (id != "" && p.ToolID == id) || (id == "" && p.ToolName == name) {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			return p.ToolID
		}
	}
	if id == "" {
		id = "call_" + name
	}
	return id
}

func decodeGeminiParts(ps gjson.Result, calls *geminiCalls) ([]Part, error) {
	var out []Part
	var err error
	ps.ForEach(func(_, p gjson.Result) bool {
		sig := get(p, "thoughtSignature", "thought_signature").String()
		switch {
		case p.Get("text").Exists():
			if p.Get("thought").Bool() {
				out = append(out, Part{Kind: Thinking, Text: p.Get("text").String(), Signature: sig})
			} else {
				out = append(out, Part{Kind: Text, Text: p.Get("text").String()})
			}
		case get(p, "inlineData", "inline_data").Exists():
			d := get(p, "inlineData", "inline_data")
			out = append(out, Part{Kind: Image, MediaType: get(d, "mimeType", "mime_type").String(), Data: d.Get("data").String()})
		case get(p, "fileData", "file_data").Exists():
			d := get(p, "fileData", "file_data")
			out = append(out, Part{Kind: Image, MediaType: get(d, "mimeType", "mime_type").String(), URL: get(d, "fileUri", "file_uri").String()})
		case get(p, "functionCall", "function_call").Exists():
			f := get(p, "functionCall", "function_call")
			name := f.Get("name").String()
			out = append(out, Part{Kind: ToolCall, ToolID: calls.call(f.Get("id").String(), name), ToolName: name,
				Args: validArgs([]byte(f.Get("args").Raw)), Signature: sig})
		case get(p, "functionResponse", "function_response").Exists():
			f := get(p, "functionResponse", "function_response")
			name := f.Get("name").String()
			out = append(out, Part{Kind: ToolResult, ToolID: calls.response(f.Get("id").String(), name), ToolName: name,
				Result: []Part{{Kind: Text, Text: geminiResultText(f.Get("response"))}}})
		case sig != "":
			out = append(out, Part{Kind: Thinking, Signature: sig})
		default:
			err = errorf("this Gemini part is not supported when the model is served by another protocol: %.80s", p.Raw)
			return false
		}
		return true
	})
	return out, err
}

// geminiResultText turns a function response object into tool result text: the value of a lone
// "result", "output" or "content" string, else the object's JSON.
func geminiResultText(resp gjson.Result) string {
	m := resp.Map()
	if len(m) == 1 {
		for k, v := range m {
			if (k == "result" || k == "output" || k == "content") && v.Type == gjson.String {
				return v.Str
			}
		}
	}
	return resp.Raw
}

// geminiSchemaToJSON turns Gemini's OpenAPI-style schema (upper-case types) into JSON Schema.
func geminiSchemaToJSON(s gjson.Result) []byte {
	var b bytes.Buffer
	writeLowerTypes(&b, s)
	return b.Bytes()
}

func writeLowerTypes(b *bytes.Buffer, v gjson.Result) {
	switch {
	case v.IsObject():
		b.WriteByte('{')
		first := true
		v.ForEach(func(k, val gjson.Result) bool {
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(k.Raw)
			b.WriteByte(':')
			if k.Str == "type" && val.Type == gjson.String {
				b.Write(jsonx.AppendString(nil, strings.ToLower(val.Str)))
			} else {
				writeLowerTypes(b, val)
			}
			return true
		})
		b.WriteByte('}')
	case v.IsArray():
		b.WriteByte('[')
		first := true
		v.ForEach(func(_, val gjson.Result) bool {
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeLowerTypes(b, val)
			return true
		})
		b.WriteByte(']')
	default:
		b.WriteString(v.Raw)
	}
}

// EncodeGeminiRequest writes r as a Gemini generateContent request (the model goes in the URL).
func EncodeGeminiRequest(r *Request) []byte {
	fillToolNames(r)
	w := &jw{b: make([]byte, 0, 1024)}
	w.obj()
	w.key("contents")
	w.arr()
	for i := range r.Messages {
		m := &r.Messages[i]
		w.obj()
		if m.Role == Assistant {
			w.kStr("role", "model")
		} else {
			w.kStr("role", "user")
		}
		w.key("parts")
		w.arr()
		for j := range m.Parts {
			encodeGeminiPart(w, &m.Parts[j])
		}
		w.endArr()
		w.end()
	}
	w.endArr()
	if sys := textOf(r.System); sys != "" {
		w.key("systemInstruction")
		w.obj()
		w.key("parts")
		w.arr()
		w.obj()
		w.kStr("text", sys)
		w.end()
		w.endArr()
		w.end()
	}
	if len(r.Tools) > 0 {
		w.key("tools")
		w.arr()
		w.obj()
		w.key("functionDeclarations")
		w.arr()
		for _, t := range r.Tools {
			w.obj()
			w.kStr("name", t.Name)
			if t.Description != "" {
				w.kStr("description", t.Description)
			}
			if len(t.Parameters) > 0 {
				w.kRaw("parametersJsonSchema", t.Parameters)
			}
			w.end()
		}
		w.endArr()
		w.end()
		w.endArr()
		if r.Choice.Mode != 0 {
			w.key("toolConfig")
			w.obj()
			w.key("functionCallingConfig")
			w.obj()
			switch r.Choice.Mode {
			case ToolNone:
				w.kStr("mode", "NONE")
			case ToolRequired:
				w.kStr("mode", "ANY")
			case ToolNamed:
				w.kStr("mode", "ANY")
				w.key("allowedFunctionNames")
				w.arr()
				w.str(r.Choice.Name)
				w.endArr()
			default:
				w.kStr("mode", "AUTO")
			}
			w.end()
			w.end()
		}
	}
	w.key("generationConfig")
	w.obj()
	if r.MaxTokens > 0 {
		w.kInt("maxOutputTokens", r.MaxTokens)
	}
	if r.Temperature != nil {
		w.key("temperature")
		w.float(*r.Temperature)
	}
	if r.TopP != nil {
		w.key("topP")
		w.float(*r.TopP)
	}
	if r.TopK != nil {
		w.kInt("topK", *r.TopK)
	}
	if len(r.Stop) > 0 {
		w.key("stopSequences")
		w.arr()
		for _, s := range r.Stop[:min(len(r.Stop), 5)] {
			w.str(s)
		}
		w.endArr()
	}
	if len(r.Seed) > 0 {
		w.kRaw("seed", r.Seed)
	}
	switch r.Format.Kind {
	case FormatJSON:
		w.kStr("responseMimeType", "application/json")
	case FormatJSONSchema:
		w.kStr("responseMimeType", "application/json")
		w.kRaw("responseJsonSchema", orEmptyObject(r.Format.Schema))
	}
	switch {
	case r.Reasoning.Requested():
		w.key("thinkingConfig")
		w.obj()
		w.key("includeThoughts")
		w.bool(true)
		w.kInt("thinkingBudget", budgetOf(r.Reasoning))
		w.end()
	case r.Reasoning.Off:
		w.key("thinkingConfig")
		w.rawS(`{"thinkingBudget":0}`)
	}
	w.end()
	w.end()
	return w.b
}

func encodeGeminiPart(w *jw, p *Part) {
	switch p.Kind {
	case Text:
		w.obj()
		w.kStr("text", p.Text)
		w.end()
	case Image:
		w.obj()
		if p.URL != "" {
			w.key("fileData")
			w.obj()
			w.kStr("mimeType", p.MediaType)
			w.kStr("fileUri", p.URL)
			w.end()
		} else {
			w.key("inlineData")
			w.obj()
			w.kStr("mimeType", p.MediaType)
			w.kStr("data", p.Data)
			w.end()
		}
		w.end()
	case ToolCall:
		w.obj()
		w.key("functionCall")
		w.obj()
		w.kStr("name", p.ToolName)
		w.kRaw("args", validArgs(p.Args))
		w.end()
		w.end()
	case ToolResult:
		w.obj()
		w.key("functionResponse")
		w.obj()
		w.kStr("name", p.ToolName)
		w.key("response")
		text := textOf(p.Result)
		if r := gjson.Parse(text); r.IsObject() && gjson.Valid(text) {
			w.rawS(text)
		} else {
			w.obj()
			if p.IsError {
				w.kStr("error", text)
			} else {
				w.kStr("result", text)
			}
			w.end()
		}
		w.end()
		w.end()
		// Thinking from other providers cannot be replayed to Gemini and is dropped.
	}
}

// fillToolNames names tool results after the calls they answer (Gemini pairs them by name).
func fillToolNames(r *Request) {
	names := map[string]string{}
	for i := range r.Messages {
		for j := range r.Messages[i].Parts {
			p := &r.Messages[i].Parts[j]
			switch {
			case p.Kind == ToolCall:
				names[p.ToolID] = p.ToolName
			case p.Kind == ToolResult && p.ToolName == "":
				p.ToolName = names[p.ToolID]
			}
		}
	}
}
