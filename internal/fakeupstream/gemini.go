package fakeupstream

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// gemini speaks the Gemini API's wire format: POST .../models/{model}:generateContent,
// :streamGenerateContent (server-sent events with ?alt=sse, else a JSON array), :countTokens and
// :embedContent, credential in x-goog-api-key or ?key=.
type gemini struct{}

func (g *gemini) routes() []route {
	return []route{
		{method: http.MethodPost, suffix: ":generateContent", proto: g, scripted: true, serve: g.generate},
		{method: http.MethodPost, suffix: ":streamGenerateContent", proto: g, scripted: true, serve: g.generate},
		{method: http.MethodPost, suffix: ":countTokens", proto: g, serve: g.countTokens},
		{method: http.MethodPost, suffix: ":embedContent", proto: g, scripted: true, serve: g.embed},
	}
}

func (g *gemini) credential(r *http.Request) string {
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

// geminiRequest is what the fake needs from a generateContent request.
type geminiRequest struct {
	model       string
	stream      bool
	sse         bool
	promptWords int
	lastUser    string
}

// partsText joins the text of non-thought parts with single spaces.
func partsText(parts gjson.Result) string {
	var sb strings.Builder
	parts.ForEach(func(_, p gjson.Result) bool {
		if t := p.Get("text"); t.Exists() && !p.Get("thought").Bool() {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(t.Str)
		}
		return true
	})
	return sb.String()
}

func jsonField(body []byte, path string) string { return gjson.GetBytes(body, path).String() }

// modelOf reads the model from a path ending in /models/{model}:{action}.
func modelOf(path string) string {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		return ""
	}
	m := path[i+len("/models/"):]
	if j := strings.LastIndexByte(m, ':'); j >= 0 {
		m = m[:j]
	}
	return m
}

func (g *gemini) parse(x *exchange) (geminiRequest, bool) {
	req := geminiRequest{model: modelOf(x.r.URL.Path), stream: strings.HasSuffix(x.r.URL.Path, ":streamGenerateContent"),
		sse: x.r.URL.Query().Get("alt") == "sse"}
	body := string(x.body)
	if !gjson.Valid(body) {
		g.writeError(x, http.StatusBadRequest, "Invalid JSON payload received.")
		return req, false
	}
	root := gjson.Parse(body)
	if inner := root.Get("generateContentRequest"); inner.IsObject() {
		root = inner
	}
	contents := root.Get("contents")
	if !contents.IsArray() || len(contents.Array()) == 0 {
		g.writeError(x, http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified\n")
		return req, false
	}
	req.promptWords = countWords(partsText(root.Get("systemInstruction.parts"))) +
		countWords(partsText(root.Get("system_instruction.parts")))
	contents.ForEach(func(_, c gjson.Result) bool {
		text := partsText(c.Get("parts"))
		req.promptWords += countWords(text)
		if c.Get("role").Str != "model" {
			req.lastUser = text
		}
		return true
	})
	return req, true
}

func (g *gemini) headers(h http.Header, contentType []string) {
	setDefault(h, "Content-Type", contentType)
	setDefault(h, "Server-Timing", []string{"gfet4t7; dur=120"})
}

func (g *gemini) writeRaw(x *exchange, status int, body []byte) {
	h := x.w.Header()
	g.headers(h, hdrJSONUTF8)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

var hdrJSONUTF8 = []string{"application/json; charset=UTF-8"}

func (g *gemini) countTokens(x *exchange) {
	req, ok := g.parse(x)
	if !ok {
		return
	}
	b := strconv.AppendInt([]byte(`{"totalTokens":`), int64(max(req.promptWords, 1)), 10)
	b = append(b, "}\n"...)
	g.writeRaw(x, http.StatusOK, b)
}

// embed answers :embedContent with a deterministic 3-dimensional vector.
func (g *gemini) embed(x *exchange) {
	text := partsText(gjson.GetBytes(x.body, "content.parts"))
	b := []byte(`{"embedding":{"values":[`)
	b = strconv.AppendFloat(b, float64(countWords(text))/10, 'f', -1, 64)
	b = append(b, ",0.5,-0.25]}}\n"...)
	g.writeRaw(x, http.StatusOK, b)
}

func appendGeminiUsage(b []byte, u Usage) []byte {
	b = append(b, `{"promptTokenCount":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"candidatesTokenCount":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens-u.ReasoningTokens), 10)
	b = append(b, `,"totalTokenCount":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	if u.CachedTokens > 0 {
		b = append(b, `,"cachedContentTokenCount":`...)
		b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
	}
	if u.ReasoningTokens > 0 {
		b = append(b, `,"thoughtsTokenCount":`...)
		b = strconv.AppendInt(b, int64(u.ReasoningTokens), 10)
	}
	return append(b, `,"promptTokensDetails":[{"modality":"TEXT","tokenCount":`+strconv.Itoa(u.PromptTokens)+`}]}`...)
}

// generate answers :generateContent and :streamGenerateContent.
func (g *gemini) generate(x *exchange) {
	req, ok := g.parse(x)
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
		g.stream(x, &req, text, usage)
		return
	}
	b := x.scratch.out[:0]
	b = append(b, `{"candidates":[{"content":{"parts":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if rep.Thinking != "" {
		sep()
		b = append(b, `{"text":`...)
		b = jsonx.AppendString(b, rep.Thinking)
		b = append(b, `,"thought":true}`...)
	}
	if text != "" {
		sep()
		b = append(b, `{"text":`...)
		b = jsonx.AppendString(b, text)
		b = append(b, '}')
	}
	for _, tc := range rep.ToolCalls {
		sep()
		b = appendFunctionCall(b, tc)
	}
	b = append(b, `],"role":"model"},"finishReason":"STOP","index":0}]`...)
	if !rep.OmitUsage {
		b = append(b, `,"usageMetadata":`...)
		b = appendGeminiUsage(b, usage)
	}
	b = append(b, `,"modelVersion":`...)
	b = jsonx.AppendString(b, req.model)
	b = append(b, `,"responseId":"`...)
	b = appendID(b, 22)
	b = append(b, "\"}\n"...)
	x.scratch.out = b
	g.writeRaw(x, http.StatusOK, b)
}

func appendFunctionCall(b []byte, tc ToolCall) []byte {
	b = append(b, `{"functionCall":{"name":`...)
	b = jsonx.AppendString(b, tc.Name)
	b = append(b, `,"args":`...)
	b = append(b, tc.Args...)
	if tc.ID != "" {
		b = append(b, `,"id":`...)
		b = jsonx.AppendString(b, tc.ID)
	}
	return append(b, `},"thoughtSignature":"c2lnLWdlbWluaQ=="}`...)
}
