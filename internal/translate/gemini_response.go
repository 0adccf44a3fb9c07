package translate

import (
	"net/http"

	"github.com/tidwall/gjson"
)

// geminiUsage reads Gemini's usageMetadata: candidates exclude thoughts, which are output too.
func geminiUsage(u gjson.Result) Usage {
	thoughts := u.Get("thoughtsTokenCount").Int()
	return Usage{
		PromptTokens:     u.Get("promptTokenCount").Int() + u.Get("toolUsePromptTokenCount").Int(),
		CachedTokens:     u.Get("cachedContentTokenCount").Int(),
		CompletionTokens: u.Get("candidatesTokenCount").Int() + thoughts,
		ReasoningTokens:  thoughts,
	}
}

func appendGeminiUsage(w *jw, u Usage) {
	w.obj()
	w.kInt("promptTokenCount", u.PromptTokens)
	w.kInt("candidatesTokenCount", max(u.CompletionTokens-u.ReasoningTokens, 0))
	w.kInt("totalTokenCount", u.PromptTokens+u.CompletionTokens)
	if u.CachedTokens > 0 {
		w.kInt("cachedContentTokenCount", u.CachedTokens)
	}
	if u.ReasoningTokens > 0 {
		w.kInt("thoughtsTokenCount", u.ReasoningTokens)
	}
	w.end()
}

func geminiStop(s string, toolCalls bool) StopReason {
	switch s {
	case "MAX_TOKENS":
		return StopMaxTokens
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE":
		return StopFiltered
	}
	if toolCalls {
		return StopToolUse
	}
	return StopEnd
}

func geminiFinish(s StopReason) string {
	switch s {
	case StopMaxTokens:
		return "MAX_TOKENS"
	case StopFiltered:
		return "SAFETY"
	}
	return "STOP"
}

// DecodeGeminiResponse reads a Gemini generateContent answer.
func DecodeGeminiResponse(body []byte) (*Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, errorf("the upstream answer is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	r := &Response{ID: root.Get("responseId").String(), Model: root.Get("modelVersion").String()}
	cand := root.Get("candidates.0")
	parts, err := decodeGeminiParts(cand.Get("content.parts"), &geminiCalls{})
	if err != nil {
		return nil, err
	}
	r.Parts = parts
	r.Stop = geminiStop(cand.Get("finishReason").String(), hasKind(parts, ToolCall))
	if u := root.Get("usageMetadata"); u.IsObject() {
		r.Usage, r.HasUsage = geminiUsage(u), true
	}
	return r, nil
}

// EncodeGeminiResponse writes r as a Gemini generateContent answer.
func EncodeGeminiResponse(r *Response, model string) []byte {
	w := &jw{b: make([]byte, 0, 512)}
	w.obj()
	w.key("candidates")
	w.arr()
	w.obj()
	w.key("content")
	w.obj()
	w.key("parts")
	w.arr()
	for i := range r.Parts {
		p := &r.Parts[i]
		switch p.Kind {
		case Thinking:
			if p.Text == "" {
				continue
			}
			w.obj()
			w.kStr("text", p.Text)
			w.key("thought")
			w.bool(true)
			w.end()
		case RedactedThinking:
		default:
			encodeGeminiPart(w, p)
		}
	}
	w.endArr()
	w.kStr("role", "model")
	w.end()
	w.kStr("finishReason", geminiFinish(r.Stop))
	w.kInt("index", 0)
	w.end()
	w.endArr()
	w.key("usageMetadata")
	appendGeminiUsage(w, r.Usage)
	w.kStr("modelVersion", model)
	w.kStr("responseId", idOr(r.ID, "resp_"))
	w.end()
	return w.b
}

// GeminiStatus is Gemini's status name for an HTTP status.
func GeminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusPaymentRequired, http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusRequestTimeout:
		return "DEADLINE_EXCEEDED"
	case http.StatusServiceUnavailable, 529, http.StatusBadGateway:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status < http.StatusInternalServerError {
		return "FAILED_PRECONDITION"
	}
	return "INTERNAL"
}

// AppendGeminiError appends Gemini's error object.
func AppendGeminiError(dst []byte, status int, message string) []byte {
	w := &jw{b: dst}
	w.obj()
	w.key("error")
	w.obj()
	w.kInt("code", int64(status))
	w.kStr("message", message)
	w.kStr("status", GeminiStatus(status))
	w.end()
	w.end()
	return w.b
}
