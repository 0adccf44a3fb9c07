package translate

import (
	"github.com/tidwall/gjson"
)

// DecodeResponsesRequest reads an OpenAI Responses API request (POST /v1/responses) into the
// canonical model, for a model served by another protocol. The conversation must be sent whole:
// previous_response_id (a conversation stored by OpenAI) and stored item references cannot be
// resolved, and fail with an *Error, as do built-in tools and input the other protocols cannot
// express. Reasoning items of earlier turns are skipped (they carry OpenAI's encrypted state).
func DecodeResponsesRequest(body []byte) (*Request, error) {
	root, err := requestObject(body)
	if err != nil {
		return nil, err
	}
	if p := root.Get("previous_response_id"); p.Type == gjson.String && p.Str != "" {
		return nil, errorf("previous_response_id is not supported when the model is served by another protocol: " +
			"send the whole conversation")
	}
	if c := root.Get("conversation"); c.Exists() && c.Type != gjson.Null {
		return nil, errorf("conversation is not supported when the model is served by another protocol: " +
			"send the whole conversation")
	}
	r := &Request{Model: root.Get("model").String()}
	r.Stream = root.Get("stream").Type == gjson.True
	r.Temperature = floatPtr(root.Get("temperature"))
	r.TopP = floatPtr(root.Get("top_p"))
	if v := root.Get("max_output_tokens"); v.Type == gjson.Number {
		r.MaxTokens = v.Int()
	}
	r.User = root.Get("user").String()
	if r.User == "" {
		r.User = root.Get("safety_identifier").String()
	}
	if in := root.Get("instructions"); in.Type == gjson.String && in.Str != "" {
		r.System = append(r.System, Part{Kind: Text, Text: in.Str})
	}
	decodeResponsesReasoning(root.Get("reasoning.effort"), r)
	if err := decodeResponsesFormat(root.Get("text.format"), r); err != nil {
		return nil, err
	}
	if err := decodeResponsesTools(root, r); err != nil {
		return nil, err
	}
	if err := decodeResponsesInput(root.Get("input"), r); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeResponsesReasoning reads reasoning.effort: "none" switches reasoning off, "xhigh" (the
// largest OpenAI effort) is the canonical "high".
func decodeResponsesReasoning(e gjson.Result, r *Request) {
	if e.Type != gjson.String || e.Str == "" {
		return
	}
	switch e.Str {
	case "none":
		r.Reasoning.Off = true
	case "xhigh":
		r.Reasoning.Effort = "high"
	default:
		r.Reasoning.Effort = e.Str
	}
}

// decodeResponsesFormat reads text.format (the Responses API's flat response_format).
func decodeResponsesFormat(f gjson.Result, r *Request) error {
	switch typ := f.Get("type").String(); typ {
	case "", "text":
	case "json_object":
		r.Format.Kind = FormatJSON
	case "json_schema":
		r.Format = Format{Kind: FormatJSONSchema, Name: f.Get("name").String(), Schema: rawObject(f.Get("schema")),
			Strict: f.Get("strict").Bool()}
	default:
		return errorf("text.format type %q is not supported", typ)
	}
	return nil
}

// decodeResponsesTools reads tools (function tools only), tool_choice and parallel_tool_calls.
func decodeResponsesTools(root gjson.Result, r *Request) error {
	var err error
	root.Get("tools").ForEach(func(_, t gjson.Result) bool {
		if typ := t.Get("type").String(); typ != "function" {
			err = errorf("tool type %q is not supported when the model is served by another protocol", typ)
			return false
		}
		// strict has no counterpart in Claude or Gemini tool declarations: the schema is sent as is.
		r.Tools = append(r.Tools, Tool{Name: t.Get("name").String(), Description: t.Get("description").String(),
			Parameters: rawObject(t.Get("parameters"))})
		return true
	})
	if err != nil {
		return err
	}
	if err := decodeResponsesToolChoice(root.Get("tool_choice"), r); err != nil {
		return err
	}
	if root.Get("parallel_tool_calls").Type == gjson.False {
		r.NoParallel = true
	}
	return nil
}

// decodeResponsesToolChoice reads "auto", "none", "required" or {"type":"function","name":…}.
func decodeResponsesToolChoice(tc gjson.Result, r *Request) error {
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
		if typ := tc.Get("type").String(); typ != "function" {
			return errorf("tool_choice type %q is not supported when the model is served by another protocol", typ)
		}
		name := tc.Get("name").String()
		if name == "" {
			return errorf("tool_choice must name a function")
		}
		r.Choice = ToolChoice{Mode: ToolNamed, Name: name}
	}
	return nil
}

// decodeResponsesInput reads input: a user text, or a list of items.
func decodeResponsesInput(in gjson.Result, r *Request) error {
	switch {
	case in.Type == gjson.String:
		appendMessage(r, User, Part{Kind: Text, Text: in.Str})
		return nil
	case !in.Exists() || in.Type == gjson.Null:
		return nil
	case !in.IsArray():
		return errorf("input must be a string or an array of items")
	}
	names := map[string]string{} // call id → function name, for Gemini's function responses
	var err error
	in.ForEach(func(_, it gjson.Result) bool {
		err = decodeResponsesItem(it, r, names)
		return err == nil
	})
	return err
}

// decodeResponsesItem reads one input item into the conversation.
func decodeResponsesItem(it gjson.Result, r *Request, names map[string]string) error {
	typ := it.Get("type").String()
	if typ == "" && it.Get("role").Exists() {
		typ = "message" // an easy input message: {"role","content"}
	}
	switch typ {
	case "message":
		return decodeResponsesMessage(it, r)
	case "function_call":
		id, name := it.Get("call_id").String(), it.Get("name").String()
		if id == "" {
			id = it.Get("id").String()
		}
		names[id] = name
		appendMessage(r, Assistant, Part{Kind: ToolCall, ToolID: id, ToolName: name,
			Args: validArgs([]byte(it.Get("arguments").String()))})
	case "function_call_output":
		id := it.Get("call_id").String()
		res, err := decodeResponsesContent(it.Get("output"), true)
		if err != nil {
			return err
		}
		appendMessage(r, User, Part{Kind: ToolResult, ToolID: id, ToolName: names[id], Result: res})
	case "reasoning":
		// OpenAI's reasoning state (encrypted) means nothing to another provider.
	default:
		return errorf("input item type %q is not supported when the model is served by another protocol", typ)
	}
	return nil
}

// decodeResponsesMessage reads a message item of any role.
func decodeResponsesMessage(it gjson.Result, r *Request) error {
	role := it.Get("role").String()
	switch role {
	case "system", "developer":
		parts, err := decodeResponsesContent(it.Get("content"), false)
		if err != nil {
			return err
		}
		r.System = append(r.System, parts...)
	case "user":
		parts, err := decodeResponsesContent(it.Get("content"), true)
		if err != nil {
			return err
		}
		appendMessage(r, User, parts...)
	case "assistant":
		parts, err := decodeResponsesContent(it.Get("content"), false)
		if err != nil {
			return err
		}
		appendMessage(r, Assistant, parts...)
	default:
		return errorf("message role %q is not supported when the model is served by another protocol", role)
	}
	return nil
}

// decodeResponsesContent reads a message's content or a function call's output: a string, or
// a list of input_text, output_text, refusal and (where images are allowed) input_image parts.
func decodeResponsesContent(c gjson.Result, images bool) ([]Part, error) {
	if c.Type == gjson.String {
		return []Part{{Kind: Text, Text: c.Str}}, nil
	}
	var out []Part
	var err error
	c.ForEach(func(_, p gjson.Result) bool {
		switch typ := p.Get("type").String(); typ {
		case "input_text", "output_text", "text":
			out = append(out, Part{Kind: Text, Text: p.Get("text").String()})
		case "refusal":
			out = append(out, Part{Kind: Text, Text: p.Get("refusal").String()})
		case "input_image":
			var part Part
			if part, err = decodeResponsesImage(p, images); err != nil {
				return false
			}
			out = append(out, part)
		default:
			err = errorf("content part type %q is not supported when the model is served by another protocol", typ)
			return false
		}
		return true
	})
	return out, err
}

// decodeResponsesImage reads an input_image part: a data URL or a linked image.
func decodeResponsesImage(p gjson.Result, images bool) (Part, error) {
	if !images {
		return Part{}, errorf("image content is only supported in user messages and function call outputs")
	}
	u := p.Get("image_url").String()
	if u == "" {
		if p.Get("file_id").String() != "" {
			return Part{}, errorf("input_image file_id is not supported when the model is served by another protocol: send image_url")
		}
		return Part{}, errorf("input_image needs an image_url")
	}
	if mt, data, ok := parseDataURL(u); ok {
		return Part{Kind: Image, MediaType: mt, Data: data}, nil
	}
	return Part{Kind: Image, URL: u, MediaType: mediaTypeOfURL(u)}, nil
}
