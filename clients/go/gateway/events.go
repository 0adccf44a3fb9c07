package gatewayclient

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
)

// Event is one server-sent event of a gateway stream: its `event:` name (empty when the
// protocol sends none) and its `data:` decoded as T (ChatCompletionChunk, ResponseStreamEvent,
// ClaudeStreamEvent, GeminiResponse or Completion, as each stream's schema names in
// `x-event-schema`).
type Event[T any] struct {
	Name string
	Data T
}

// StreamError is an error event of a stream that failed after its first byte (the protocol's
// error shape, kept raw in Body).
type StreamError struct {
	Message string
	Body    json.RawMessage
}

func (e *StreamError) Error() string { return "gateway stream: " + e.Message }

// maxEventBytes bounds one event's data.
const maxEventBytes = 16 << 20

// Events reads a `text/event-stream` body (a streamed answer's HTTPResponse.Body) event by
// event, decoding each event's data as T. It ends at OpenAI's `data: [DONE]` or at the end of the
// body; an error event (`event: error`, or data `{"error": ...}`) ends it with a *StreamError.
//
//	resp, err := client.ChatCompletionCreate(ctx, gatewayclient.ChatCompletionRequest{Model: "gpt-4o-mini", Messages: msgs, Stream: &yes})
//	for ev, err := range gatewayclient.Events[gatewayclient.ChatCompletionChunk](resp.Body) { ... }
func Events[T any](body io.Reader) iter.Seq2[Event[T], error] {
	return func(yield func(Event[T], error) bool) {
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
		var name string
		var data []byte
		// dispatch reports whether reading goes on.
		dispatch := func() bool {
			defer func() { name, data = "", data[:0] }()
			if len(data) == 0 {
				return true
			}
			if bytes.Equal(data, []byte("[DONE]")) {
				return false
			}
			if err := streamError(name, data); err != nil {
				yield(Event[T]{Name: name}, err)
				return false
			}
			var ev Event[T]
			ev.Name = name
			if err := json.Unmarshal(data, &ev.Data); err != nil {
				yield(ev, fmt.Errorf("gateway stream: event data: %w", err))
				return false
			}
			return yield(ev, nil)
		}
		for sc.Scan() {
			line := sc.Bytes()
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) == 0 {
				if !dispatch() {
					return
				}
				continue
			}
			if line[0] == ':' {
				continue
			}
			field, val, _ := bytes.Cut(line, []byte(":"))
			val = bytes.TrimPrefix(val, []byte(" "))
			switch string(field) {
			case "data":
				if len(data) > 0 {
					data = append(data, '\n')
				}
				data = append(data, val...)
			case "event":
				name = string(val)
			}
		}
		if err := sc.Err(); err != nil {
			yield(Event[T]{}, fmt.Errorf("gateway stream: %w", err))
			return
		}
		dispatch()
	}
}

// streamError returns the *StreamError an error event carries, or nil.
func streamError(name string, data []byte) error {
	var probe struct {
		Type    string          `json:"type"`
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return nil
	}
	if name != "error" && (len(probe.Error) == 0 || probe.Type != "" && probe.Type != "error") {
		return nil
	}
	msg := probe.Message
	var inner struct {
		Message string `json:"message"`
	}
	if len(probe.Error) > 0 && json.Unmarshal(probe.Error, &inner) == nil && inner.Message != "" {
		msg = inner.Message
	}
	if msg == "" {
		msg = "the stream failed"
	}
	return &StreamError{Message: msg, Body: bytes.Clone(data)}
}
