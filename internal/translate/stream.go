package translate

import "github.com/tidwall/gjson"

// StreamDecoder turns an upstream's streamed events (the data payloads of its server-sent events)
// into canonical events. It keeps only the state of the answer in flight (open blocks, usage so
// far), never the stream.
type StreamDecoder interface {
	// Decode appends the canonical events of one payload to dst.
	Decode(dst []Event, payload []byte) ([]Event, error)
	// Done reports whether the upstream signalled the end of a complete answer.
	Done() bool
	// Ended reports whether the upstream's explicit end-of-stream marker was read (OpenAI's
	// [DONE], Claude's message_stop): nothing of the answer follows it. Gemini has none (its
	// stream ends with the connection), so its decoder never reports it.
	Ended() bool
}

// StreamEncoder writes canonical events as the caller's protocol's stream.
type StreamEncoder interface {
	// Encode appends the caller's events for ev to dst (possibly none).
	Encode(dst []byte, ev *Event) []byte
	// Finish appends the closing events of a complete answer.
	Finish(dst []byte) []byte
	// Fail appends the protocol's mid-stream error event; status is the HTTP status the error
	// would have had, message is safe to show.
	Fail(dst []byte, status int, message string) []byte
}

// EncoderOptions configure a StreamEncoder.
type EncoderOptions struct {
	// Model is the model name the caller asked for.
	Model string
	// Created is the answer's creation time (Unix seconds), for OpenAI chunks.
	Created int64
	// IncludeUsage sends OpenAI's trailing usage chunk.
	IncludeUsage bool
	// InputTokens is the input token count announced in Claude's message_start (counted before
	// sending); the exact count follows in message_delta.
	InputTokens int64
	// GeminiArray writes Gemini's JSON-array stream instead of server-sent events.
	GeminiArray bool
}

// NewDecoder returns the stream decoder of an upstream protocol.
func NewDecoder(p Protocol) StreamDecoder {
	switch p {
	case Claude:
		return &claudeDecoder{blocks: map[int64]claudeBlock{}}
	case Gemini:
		return &geminiDecoder{}
	}
	return &openAIDecoder{}
}

// NewEncoder returns the stream encoder of a caller protocol.
func NewEncoder(p Protocol, o EncoderOptions) StreamEncoder {
	switch p {
	case Claude:
		return &claudeEncoder{o: o, open: -1}
	case Gemini:
		return &geminiEncoder{o: o}
	}
	return &openAIEncoder{o: o}
}

// AppendSSE appends one server-sent event with an optional event name.
func AppendSSE(dst []byte, name string, data []byte) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// UsageOf reads the usage of a complete (non-streamed) answer in protocol p; ok is false when
// the answer reports none.
func UsageOf(p Protocol, body []byte) (u Usage, ok bool) {
	return UsageIn(p, gjson.GetBytes(body, UsageMember(p)))
}

// UsageMember is the name of the answer's top-level member that holds its usage in protocol p.
func UsageMember(p Protocol) string {
	if p == Gemini {
		return "usageMetadata"
	}
	return "usage"
}

// UsageIn reads the usage of an answer in protocol p from its usage member (UsageMember); ok is
// false when that is not an object.
func UsageIn(p Protocol, r gjson.Result) (u Usage, ok bool) {
	if !r.IsObject() {
		return u, false
	}
	switch p {
	case Claude:
		return claudeUsage(r), true
	case Gemini:
		return geminiUsage(r), true
	}
	return openAIUsage(r), true
}
