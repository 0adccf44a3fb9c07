package translate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// TestGoldenResponsesAPIRequest converts the Responses API request fixture to every protocol.
func TestGoldenResponsesAPIRequest(t *testing.T) {
	t.Parallel()
	r, err := DecodeResponsesRequest(read(t, "responsesapi/request.json"))
	require.NoError(t, err)
	require.Equal(t, "gpt-5-codex", r.Model)
	require.True(t, r.Stream)
	require.Equal(t, "You are a coding agent.\nAnswer in English.", textOf(r.System))
	require.Equal(t, int64(2048), r.MaxTokens)
	require.Equal(t, "low", r.Reasoning.Effort)
	require.Equal(t, "user-42", r.User)
	require.True(t, r.NoParallel)
	require.Equal(t, ToolAuto, r.Choice.Mode)
	require.Equal(t, Format{Kind: FormatJSONSchema, Name: "answer", Strict: true,
		Schema: json.RawMessage(`{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}`)}, r.Format)
	// user (text, 2 images) · assistant (text, call) · user (result, text)
	require.Len(t, r.Messages, 3)
	require.Equal(t, []PartKind{Text, Image, Image}, kinds(r.Messages[0].Parts))
	require.Equal(t, Part{Kind: Image, MediaType: "image/png", Data: "iVBORw0KGgo="}, r.Messages[0].Parts[1])
	require.Equal(t, "image/webp", r.Messages[0].Parts[2].MediaType)
	require.Equal(t, []PartKind{Text, ToolCall}, kinds(r.Messages[1].Parts))
	require.Equal(t, []PartKind{ToolResult, Text}, kinds(r.Messages[2].Parts))
	require.Equal(t, "get_weather", r.Messages[2].Parts[0].ToolName, "results are paired with their call by id")
	for _, to := range protocols {
		t.Run("to_"+name(to), func(t *testing.T) {
			t.Parallel()
			rr := *r
			rr.Model = "target-model"
			out := encodeRequest(to, &rr)
			require.True(t, json.Valid(out), "%s", out)
			golden(t, "responsesapi_request_to_"+name(to)+".json", out)
		})
	}
}

func kinds(parts []Part) []PartKind {
	out := make([]PartKind, len(parts))
	for i, p := range parts {
		out[i] = p.Kind
	}
	return out
}

// TestDecodeResponsesRequestForms checks the short forms and the settings of a Responses request.
func TestDecodeResponsesRequestForms(t *testing.T) {
	t.Parallel()
	r, err := DecodeResponsesRequest([]byte(`{"model":"m","input":"hi","reasoning":{"effort":"none"},
		"tool_choice":{"type":"function","name":"f"},"tools":[{"type":"function","name":"f"}],
		"text":{"format":{"type":"json_object"}},"safety_identifier":"sid"}`))
	require.NoError(t, err)
	require.Equal(t, []Message{{Role: User, Parts: []Part{{Kind: Text, Text: "hi"}}}}, r.Messages)
	require.True(t, r.Reasoning.Off)
	require.Equal(t, ToolChoice{Mode: ToolNamed, Name: "f"}, r.Choice)
	require.Equal(t, FormatJSON, r.Format.Kind)
	require.Equal(t, "sid", r.User)

	r, err = DecodeResponsesRequest([]byte(`{"model":"m","reasoning":{"effort":"xhigh"},"tool_choice":"required",
		"input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"a"},
		{"type":"input_image","image_url":"data:image/jpeg;base64,AAA="}]}]}`))
	require.NoError(t, err)
	require.Equal(t, "high", r.Reasoning.Effort)
	require.Equal(t, ToolRequired, r.Choice.Mode)
	require.Equal(t, []Part{{Kind: Text, Text: "a"}, {Kind: Image, MediaType: "image/jpeg", Data: "AAA="}},
		r.Messages[0].Parts[0].Result)
}

// TestDecodeResponsesRequestUnsupported checks that what other protocols cannot express fails with
// an *Error naming it.
func TestDecodeResponsesRequestUnsupported(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"model":"m","previous_response_id":"resp_1","input":"hi"}`:                                      "previous_response_id is not supported when the model is served by another protocol: send the whole conversation",
		`{"model":"m","conversation":"conv_1","input":"hi"}`:                                              "conversation is not supported",
		`{"model":"m","tools":[{"type":"web_search"}]}`:                                                   `tool type "web_search" is not supported`,
		`{"model":"m","tools":[{"type":"custom","name":"apply_patch"}]}`:                                  "tool type \"custom\" is not supported",
		`{"model":"m","tool_choice":{"type":"file_search"}}`:                                              `tool_choice type "file_search" is not supported`,
		`{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`:                                  `input item type "item_reference" is not supported`,
		`{"model":"m","input":[{"type":"local_shell_call"}]}`:                                             `input item type "local_shell_call" is not supported`,
		`{"model":"m","input":[{"role":"user","content":[{"type":"input_file"}]}]}`:                       `content part type "input_file" is not supported`,
		`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}`:        "file_id is not supported",
		`{"model":"m","input":[{"role":"assistant","content":[{"type":"input_image","image_url":"x"}]}]}`: "image content is only supported",
		`{"model":"m","input":[{"role":"tool","content":"x"}]}`:                                           `message role "tool" is not supported`,
		`{"model":"m","text":{"format":{"type":"grammar"}}}`:                                              `text.format type "grammar" is not supported`,
		`{"model":"m","input":42}`:                                                                        "input must be a string or an array",
		`[]`:                                                                                              "must be a JSON object",
		`{`:                                                                                               "not valid JSON",
	} {
		_, err := DecodeResponsesRequest([]byte(body))
		var te *Error
		require.ErrorAs(t, err, &te, body)
		require.Contains(t, te.Message, want, body)
	}
}

// responsesFixtureAnswer decodes an answer fixture of protocol p (ids made fixed for the goldens).
func responsesFixtureAnswer(t *testing.T, p Protocol) *Response {
	t.Helper()
	r, err := decodeResponse(p, read(t, "responses/"+name(p)+".json"))
	require.NoError(t, err)
	return r
}

// TestGoldenResponsesAPIAnswers converts each protocol's answer fixture to a Responses API
// response object.
func TestGoldenResponsesAPIAnswers(t *testing.T) {
	t.Parallel()
	for _, from := range protocols {
		t.Run("from_"+name(from), func(t *testing.T) {
			t.Parallel()
			r := responsesFixtureAnswer(t, from)
			out := EncodeResponsesResponse(r, "caller-model", 1700000000)
			require.True(t, json.Valid(out), "%s", out)
			o := gjson.ParseBytes(out)
			require.Equal(t, "completed", o.Get("status").String())
			require.Equal(t, []string{"reasoning", "message", "function_call"}, strs(o.Get("output.#.type")))
			require.Equal(t, "Need the weather.", o.Get("output.0.summary.0.text").String())
			require.Equal(t, "Checking.", o.Get("output.1.content.0.text").String())
			require.JSONEq(t, `{"city":"Paris"}`, o.Get("output.2.arguments").String())
			require.Equal(t, r.Usage.PromptTokens, o.Get("usage.input_tokens").Int())
			require.Equal(t, r.Usage.PromptTokens+r.Usage.CompletionTokens, o.Get("usage.total_tokens").Int())
			golden(t, "responsesapi_response_from_"+name(from)+".json", out)
		})
	}
	t.Run("max_tokens", func(t *testing.T) {
		t.Parallel()
		out := EncodeResponsesResponse(&Response{ID: "x", Parts: []Part{{Kind: Text, Text: "cut"}}, Stop: StopMaxTokens},
			"m", 1)
		o := gjson.ParseBytes(out)
		require.Equal(t, "incomplete", o.Get("status").String())
		require.Equal(t, "max_output_tokens", o.Get("incomplete_details.reason").String())
		require.Equal(t, "resp_x", o.Get("id").String())
	})
}

func strs(r gjson.Result) []string {
	var out []string
	for _, v := range r.Array() {
		out = append(out, v.String())
	}
	return out
}

// sseEvents splits an encoded stream into (event name, data) pairs.
func sseEvents(t *testing.T, sse []byte) (names []string, datas []gjson.Result) {
	t.Helper()
	for _, ev := range bytes.Split(bytes.TrimSpace(sse), []byte("\n\n")) {
		lines := strings.Split(string(ev), "\n")
		require.Len(t, lines, 2, "%s", ev)
		n, ok := strings.CutPrefix(lines[0], "event: ")
		require.True(t, ok, lines[0])
		d, ok := strings.CutPrefix(lines[1], "data: ")
		require.True(t, ok, lines[1])
		require.True(t, json.Valid([]byte(d)), d)
		names, datas = append(names, n), append(datas, gjson.Parse(d))
	}
	return names, datas
}

// checkResponsesStream checks the invariants of an encoded stream: every event named by its type,
// sequence numbers 0, 1, 2…, and deltas that add up to the items the terminal event reports.
func checkResponsesStream(t *testing.T, sse []byte) gjson.Result {
	t.Helper()
	names, datas := sseEvents(t, sse)
	texts := map[string]string{}
	var final gjson.Result
	for i, d := range datas {
		require.Equal(t, names[i], d.Get("type").String())
		require.Equal(t, int64(i), d.Get("sequence_number").Int())
		switch names[i] {
		case "response.output_text.delta", "response.reasoning_summary_text.delta", "response.function_call_arguments.delta":
			texts[d.Get("item_id").String()] += d.Get("delta").String()
		case "response.completed", "response.incomplete", "response.failed":
			require.Equal(t, len(datas)-1, i, "the terminal event comes last")
			final = d.Get("response")
		}
	}
	require.True(t, final.Exists(), "a terminal event")
	for _, it := range final.Get("output").Array() {
		got := texts[it.Get("id").String()]
		switch it.Get("type").String() {
		case "message":
			require.Equal(t, it.Get("content.0.text").String(), got)
		case "reasoning":
			require.Equal(t, it.Get("summary.0.text").String(), got)
		case "function_call":
			if got != "" { // a call whose arguments never came ends with {}
				require.Equal(t, it.Get("arguments").String(), got)
			}
		}
	}
	return final
}

// responsesStream converts a recorded upstream stream of protocol from into a Responses stream.
func responsesStream(t *testing.T, from Protocol, sse []byte, cut bool) []byte {
	t.Helper()
	dec, enc := NewDecoder(from), NewResponsesEncoder(EncoderOptions{Model: "caller-model", Created: 1700000000})
	var out []byte
	var evs []Event
	ps := payloads(sse)
	if cut {
		ps = ps[:len(ps)/2]
	}
	for _, p := range ps {
		var err error
		evs, err = dec.Decode(evs[:0], p)
		require.NoError(t, err)
		for i := range evs {
			out = enc.Encode(out, &evs[i])
		}
	}
	if !dec.Done() {
		return enc.Fail(out, 502, "the upstream stream was interrupted before it finished")
	}
	return enc.Finish(out)
}

// TestGoldenResponsesAPIStreams converts each protocol's recorded stream to a Responses API
// event stream.
func TestGoldenResponsesAPIStreams(t *testing.T) {
	t.Parallel()
	for _, from := range protocols {
		t.Run("from_"+name(from), func(t *testing.T) {
			t.Parallel()
			out := responsesStream(t, from, read(t, "streams/"+name(from)+".sse"), false)
			final := checkResponsesStream(t, out)
			require.Equal(t, "completed", final.Get("status").String())
			require.Equal(t, int64(120), final.Get("usage.input_tokens").Int(), "every fixture reports 120 input tokens")
			require.Equal(t, int64(64), final.Get("usage.input_tokens_details.cached_tokens").Int())
			require.Equal(t, []string{"reasoning", "message", "function_call"}, strs(final.Get("output.#.type")))
			golden(t, "responsesapi_stream_from_"+name(from)+".sse", out)
		})
		t.Run("cut_"+name(from), func(t *testing.T) {
			t.Parallel()
			out := responsesStream(t, from, read(t, "streams/"+name(from)+".sse"), true)
			final := checkResponsesStream(t, out)
			require.Equal(t, "failed", final.Get("status").String())
			names, datas := sseEvents(t, out)
			require.NotContains(t, names, "response.completed")
			errEv := datas[len(datas)-2]
			require.Equal(t, "error", errEv.Get("type").String())
			require.Equal(t, "stream_interrupted", errEv.Get("code").String())
			require.Contains(t, errEv.Get("message").String(), "interrupted")
		})
	}
}

// TestResponsesStreamEdges covers an empty answer, a max-tokens stop and a failure before any
// event.
func TestResponsesStreamEdges(t *testing.T) {
	t.Parallel()
	enc := NewResponsesEncoder(EncoderOptions{Model: "m"})
	out := enc.Finish(nil)
	final := checkResponsesStream(t, out)
	require.Equal(t, "completed", final.Get("status").String())
	require.Empty(t, final.Get("output").Array())

	enc = NewResponsesEncoder(EncoderOptions{Model: "m"})
	out = nil
	for _, ev := range []Event{{Kind: EvStart, ID: "a"}, {Kind: EvText, Text: "x"}, {Kind: EvToolStart, Index: 0, ID: "c", Name: "f"},
		{Kind: EvPing}, {Kind: EvUsage, Usage: Usage{PromptTokens: 3, CompletionTokens: 9}}, {Kind: EvStop, Stop: StopMaxTokens}} {
		out = enc.Encode(out, &ev)
	}
	out = enc.Finish(out)
	names, _ := sseEvents(t, out)
	require.Equal(t, "response.incomplete", names[len(names)-1])
	final = checkResponsesStream(t, out)
	require.Equal(t, "max_output_tokens", final.Get("incomplete_details.reason").String())
	require.Equal(t, "{}", final.Get("output.1.arguments").String(), "a call without arguments gets {}")
	require.Equal(t, int64(12), final.Get("usage.total_tokens").Int())

	out = NewResponsesEncoder(EncoderOptions{Model: "m"}).Fail(nil, 502, "boom")
	names, _ = sseEvents(t, out)
	require.Equal(t, []string{"response.created", "response.in_progress", "error", "response.failed"}, names)
}
