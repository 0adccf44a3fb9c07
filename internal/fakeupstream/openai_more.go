package fakeupstream

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// This file serves OpenAI's endpoints other than chat completions: legacy completions,
// embeddings and image generations (the Responses API is in openai_responses.go).

// parseModel validates that x.body is JSON with a string model, answering OpenAI's error itself
// otherwise.
func (o *openAI) parseModel(x *exchange) (gjson.Result, bool) {
	body := string(x.body)
	if !gjson.Valid(body) {
		o.writeError(x, http.StatusBadRequest, msgInvalidJSON, typeInvalidRequest, "", "")
		return gjson.Result{}, false
	}
	model := gjson.Get(body, "model")
	if model.Type != gjson.String || model.Str == "" {
		o.writeError(x, http.StatusBadRequest, "you must provide a model parameter", typeInvalidRequest, "", "")
		return model, false
	}
	return model, true
}

// missingParam answers OpenAI's 400 for a missing required parameter.
func (o *openAI) missingParam(x *exchange, name string) {
	o.writeError(x, http.StatusBadRequest, "Missing required parameter: '"+name+"'.", typeInvalidRequest,
		name, "missing_required_parameter")
}

// completionRequest is what the fake needs from a legacy completion request.
type completionRequest struct {
	model        gjson.Result
	stream       bool
	includeUsage bool
	promptWords  int
	// prompt is the last prompt string, echoed by the echo answer.
	prompt string
}

// parseCompletion validates a legacy completion request like OpenAI does for the fields the fake
// uses, answering the error itself when it is invalid.
func (o *openAI) parseCompletion(x *exchange) (completionRequest, bool) {
	var req completionRequest
	var ok bool
	if req.model, ok = o.parseModel(x); !ok {
		return req, false
	}
	prompt := gjson.GetBytes(x.body, "prompt")
	if !prompt.Exists() || prompt.Type == gjson.Null {
		o.missingParam(x, "prompt")
		return req, false
	}
	req.promptWords, req.prompt = inputWords(prompt)
	req.stream = gjson.GetBytes(x.body, "stream").Type == gjson.True
	if opts := gjson.GetBytes(x.body, "stream_options"); opts.Exists() && opts.Type != gjson.Null {
		if !req.stream {
			o.writeError(x, http.StatusBadRequest,
				"The 'stream_options' parameter is only allowed when 'stream' is enabled.",
				typeInvalidRequest, "stream_options", "")
			return req, false
		}
		req.includeUsage = opts.Get("include_usage").Type == gjson.True
	}
	return req, true
}

// inputWords counts the tokens of a completion prompt or an embeddings input: the words of a
// string or of an array of strings, one token per element of a token array (or of an array of
// token arrays). It also returns the last string, if any.
func inputWords(v gjson.Result) (int, string) {
	switch {
	case v.Type == gjson.String:
		return countWords(v.Str), v.Str
	case !v.IsArray():
		return 0, ""
	}
	n, last := 0, ""
	v.ForEach(func(_, el gjson.Result) bool {
		switch {
		case el.Type == gjson.String:
			n += countWords(el.Str)
			last = el.Str
		case el.IsArray():
			n += len(el.Array())
		default:
			n++
		}
		return true
	})
	return n, last
}

// completion answers POST .../completions (the legacy text completion).
func (o *openAI) completion(x *exchange) {
	req, ok := o.parseCompletion(x)
	if !ok {
		return
	}
	rep := x.reply
	text := rep.Text
	if text == "" {
		text = "echo: " + req.prompt
	}
	usage := Usage{PromptTokens: max(req.promptWords, 1), CompletionTokens: countWords(text)}
	if rep.Usage != nil {
		usage = *rep.Usage
	}
	if req.stream {
		o.completionStream(x, &req, text, usage)
		return
	}
	b := x.scratch.out[:0]
	b = append(b, `{"id":"cmpl-`...)
	b = appendID(b, 29)
	b = append(b, `","object":"text_completion","created":`...)
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	b = append(b, `,"model":`...)
	b = append(b, req.model.Raw...)
	b = append(b, `,"choices":[{"text":`...)
	b = jsonx.AppendString(b, text)
	b = append(b, `,"index":0,"logprobs":null,"finish_reason":"stop"}]`...)
	if !rep.OmitUsage {
		b = append(b, `,"usage":`...)
		b = appendCompletionUsage(b, usage)
	}
	b = append(b, "}\n"...)
	x.scratch.out = b
	o.writeRaw(x, http.StatusOK, b)
}

// appendCompletionUsage appends the usage object of a legacy completion.
func appendCompletionUsage(b []byte, u Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	return append(b, '}')
}

// completionStream answers a legacy completion as text_completion chunks: one per word, the
// finish reason, the usage (only when asked with stream_options.include_usage) and [DONE].
func (o *openAI) completionStream(x *exchange, req *completionRequest, text string, usage Usage) {
	rep := x.reply
	h := x.w.Header()
	o.commonHeaders(h, hdrSSE)
	setDefault(h, "Cache-Control", hdrNoCache)
	x.w.WriteHeader(http.StatusOK)

	b := x.scratch.out[:0]
	b = append(b, `data: {"id":"cmpl-`...)
	b = appendID(b, 29)
	b = append(b, `","object":"text_completion","created":`...)
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	b = append(b, `,"choices":[`...)
	tail := `],"model":` + req.model.Raw
	if req.includeUsage {
		tail += `,"usage":null`
	}
	e := &sseWriter{x: x, rc: http.NewResponseController(x.w), b: b, head: len(b), tail: tail + "}\n\n", delay: rep.EventDelay}
	defer func() { x.scratch.out = e.b }()

	n := 0
	for rest := text; rest != ""; {
		var word string
		word, rest = nextChunk(rest)
		if !e.begin() {
			return
		}
		e.b = append(e.b, `{"text":`...)
		e.b = jsonx.AppendString(e.b, word)
		e.b = append(e.b, `,"index":0,"logprobs":null,"finish_reason":null}`...)
		e.b = append(e.b, e.tail...)
		if !e.send() {
			return
		}
		if n++; rep.CutAfter < 0 || (rep.CutAfter > 0 && n >= rep.CutAfter) {
			abort(x.w)
			return
		}
	}
	if rep.CutAfter != 0 {
		abort(x.w)
		return
	}
	if !e.chunk(`{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}`) {
		return
	}
	if req.includeUsage && !rep.OmitUsage {
		if !e.begin() {
			return
		}
		e.b = append(e.b, `],"model":`...)
		e.b = append(e.b, req.model.Raw...)
		e.b = append(e.b, `,"usage":`...)
		e.b = appendCompletionUsage(e.b, usage)
		e.b = append(e.b, "}\n\n"...)
		if !e.send() {
			return
		}
	}
	if e.begin() {
		e.b = append(e.b[:0], sseDone...)
		e.send()
	}
}

// defaultEmbeddingDims is the length of the fake's embeddings unless "dimensions" asks otherwise.
const defaultEmbeddingDims = 8

// embeddings answers POST .../embeddings: one deterministic vector per input, as JSON floats or,
// with encoding_format "base64", as the base64 of their little-endian float32 bytes.
func (o *openAI) embeddings(x *exchange) {
	model, ok := o.parseModel(x)
	if !ok {
		return
	}
	input := gjson.GetBytes(x.body, "input")
	if !input.Exists() || input.Type == gjson.Null {
		o.missingParam(x, "input")
		return
	}
	inputs := []gjson.Result{input}
	if input.IsArray() && len(input.Array()) > 0 && (input.Array()[0].Type == gjson.String || input.Array()[0].IsArray()) {
		inputs = input.Array()
	}
	dims := defaultEmbeddingDims
	if d := gjson.GetBytes(x.body, "dimensions").Int(); d > 0 && d <= 4096 {
		dims = int(d)
	}
	base64Format := gjson.GetBytes(x.body, "encoding_format").Str == "base64"

	b := x.scratch.out[:0]
	b = append(b, `{"object":"list","data":[`...)
	words := 0
	for i, in := range inputs {
		n, _ := inputWords(in)
		words += n
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		b = appendEmbedding(b, embeddingVector(n, i, dims), base64Format)
		b = append(b, '}')
	}
	usage := Usage{PromptTokens: max(words, 1)}
	if x.reply.Usage != nil {
		usage = *x.reply.Usage
	}
	b = append(b, `],"model":`...)
	b = append(b, model.Raw...)
	if !x.reply.OmitUsage {
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(usage.PromptTokens), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(usage.PromptTokens), 10)
		b = append(b, '}')
	}
	b = append(b, "}\n"...)
	x.scratch.out = b
	o.writeRaw(x, http.StatusOK, b)
}

// embeddingVector is the fake's deterministic embedding of the index-th input of words words:
// values in [-1, 1) exactly representable as float32.
func embeddingVector(words, index, dims int) []float32 {
	v := make([]float32, dims)
	for j := range v {
		v[j] = float32((words*37+index*11+j*13)%256-128) / 128
	}
	return v
}

// appendEmbedding appends a vector as a JSON array of numbers or a base64 string.
func appendEmbedding(b []byte, v []float32, base64Format bool) []byte {
	if base64Format {
		raw := make([]byte, 4*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, raw)
		return append(b, '"')
	}
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'f', -1, 32)
	}
	return append(b, ']')
}

// FakePNG is the base64 of the 1×1 PNG every fake image generation returns.
const FakePNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// imageOutputTokens is what gpt-image-1 charges per 1024×1024 image of a quality.
func imageOutputTokens(quality string) int {
	switch quality {
	case "low":
		return 272
	case "high":
		return 4160
	}
	return 1056
}

// images answers POST .../images/generations. GPT image models (gpt-image-*) answer base64 images
// with token usage; DALL·E models answer URLs (or base64 with response_format "b64_json") and
// report no usage.
func (o *openAI) images(x *exchange) {
	body := string(x.body)
	if !gjson.Valid(body) {
		o.writeError(x, http.StatusBadRequest, msgInvalidJSON, typeInvalidRequest, "", "")
		return
	}
	prompt := gjson.Get(body, "prompt")
	if prompt.Type != gjson.String || prompt.Str == "" {
		o.missingParam(x, "prompt")
		return
	}
	model := gjson.Get(body, "model").Str
	if model == "" {
		model = "dall-e-2"
	}
	n := int(gjson.Get(body, "n").Int())
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 10 {
		o.writeError(x, http.StatusBadRequest, "Invalid 'n': integer between 1 and 10 expected.", typeInvalidRequest,
			"n", "invalid_value")
		return
	}
	gptImage := strings.HasPrefix(model, "gpt-image")
	b64 := gptImage || gjson.Get(body, "response_format").Str == "b64_json"

	b := x.scratch.out[:0]
	b = append(b, `{"created":`...)
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	if gptImage {
		b = append(b, `,"background":"opaque"`...)
	}
	b = append(b, `,"data":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if b64 {
			b = append(b, `{"b64_json":"`+FakePNG+`"}`...)
			continue
		}
		b = append(b, `{"url":"https://oaidalleapiprodscus.blob.core.windows.net/private/img-`...)
		b = appendID(b, 24)
		b = append(b, `.png","revised_prompt":`...)
		b = jsonx.AppendString(b, prompt.Str)
		b = append(b, '}')
	}
	b = append(b, ']')
	if gptImage {
		b = o.appendImageUsage(b, x, prompt.Str, n)
	}
	b = append(b, "}\n"...)
	x.scratch.out = b
	o.writeRaw(x, http.StatusOK, b)
}

// appendImageUsage appends a GPT image model's answer details and usage (unless the reply omits
// it): the prompt's words as text input tokens, the quality's tokens per image as output.
func (o *openAI) appendImageUsage(b []byte, x *exchange, prompt string, n int) []byte {
	quality := gjson.GetBytes(x.body, "quality").Str
	if quality == "" || quality == "auto" {
		quality = "medium"
	}
	size := gjson.GetBytes(x.body, "size").Str
	if size == "" || size == "auto" {
		size = "1024x1024"
	}
	b = append(b, `,"output_format":"png","quality":`...)
	b = jsonx.AppendString(b, quality)
	b = append(b, `,"size":`...)
	b = jsonx.AppendString(b, size)
	if x.reply.OmitUsage {
		return b
	}
	u := Usage{PromptTokens: max(countWords(prompt), 1), CompletionTokens: n * imageOutputTokens(quality)}
	if x.reply.Usage != nil {
		u = *x.reply.Usage
	}
	b = append(b, `,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"input_tokens_details":{"image_tokens":0,"text_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"output_tokens_details":{"image_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"text_tokens":0},"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	return append(b, '}')
}
