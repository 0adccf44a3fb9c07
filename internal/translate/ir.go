// Package translate converts chat calls between the OpenAI (chat completions), Claude (Messages)
// and Gemini (generateContent) wire formats through one canonical model: requests, answers,
// streamed events and usage. Each format has a decoder into the canonical model and an encoder out
// of it; streams are converted event by event and never buffered whole.
//
// The package works on bytes only (no HTTP, no framework types). Conversions that cannot be done
// faithfully fail with an *Error naming the feature, which the gateway returns to the caller as a
// 400 in the caller's protocol.
package translate

import (
	"encoding/json"
	"fmt"
)

// Protocol is a wire format, of a caller or of an upstream.
type Protocol uint8

// The wire formats.
const (
	OpenAI Protocol = iota + 1 // OpenAI chat completions
	Claude                     // Anthropic Messages
	Gemini                     // Google Gemini generateContent
)

// String returns the channel type name of p.
func (p Protocol) String() string {
	switch p {
	case OpenAI:
		return "openai"
	case Claude:
		return "anthropic"
	case Gemini:
		return "gemini"
	}
	return "unknown"
}

// ProtocolOf maps a channel type to its wire format; ok is false for an unknown type.
func ProtocolOf(channelType string) (p Protocol, ok bool) {
	switch channelType {
	case "openai":
		return OpenAI, true
	case "anthropic", "claude":
		return Claude, true
	case "gemini":
		return Gemini, true
	}
	return 0, false
}

// Error is a request the target format cannot express, or a body that is not the format it
// claims to be. Its message is safe to show to the caller.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error { return &Error{Message: fmt.Sprintf(format, args...)} }

// Role is who wrote a message.
type Role uint8

// The roles. Tool results travel in user messages, as in Claude and Gemini.
const (
	User Role = iota + 1
	Assistant
)

// PartKind is the kind of a content part.
type PartKind uint8

// The content part kinds.
const (
	Text PartKind = iota + 1
	Image
	ToolCall
	ToolResult
	Thinking
	RedactedThinking
)

// Part is one piece of a message.
type Part struct {
	Kind PartKind
	// Text is the text of a Text or Thinking part.
	Text string
	// MediaType and Data (base64) hold an inline image; URL a linked one.
	MediaType string
	Data      string
	URL       string
	// ToolID and ToolName identify a tool call, or the call a result answers.
	ToolID   string
	ToolName string
	// Args is a ToolCall's arguments: a JSON object.
	Args json.RawMessage
	// Result is a ToolResult's content (Text and Image parts); IsError marks a failed call.
	Result  []Part
	IsError bool
	// Signature is a Thinking part's signature (Claude) or thought signature (Gemini);
	// RedactedThinking keeps its opaque payload in Data.
	Signature string
}

// Message is one turn of the conversation.
type Message struct {
	Role  Role
	Parts []Part
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments (an object schema); nil for none.
	Parameters json.RawMessage
}

// ToolChoiceMode says whether and which tools the model must call.
type ToolChoiceMode uint8

// The tool choice modes; the zero value leaves the choice to the provider's default.
const (
	ToolAuto ToolChoiceMode = iota + 1
	ToolNone
	ToolRequired // any tool
	ToolNamed    // the tool in ToolChoice.Name
)

// ToolChoice is the tool choice of a request.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string
}

// FormatKind is the kind of structured output asked for.
type FormatKind uint8

// The output formats; the zero value is free text.
const (
	FormatJSON       FormatKind = iota + 1 // any JSON object
	FormatJSONSchema                       // JSON matching Schema
)

// Format is a request's output format.
type Format struct {
	Kind   FormatKind
	Name   string
	Schema json.RawMessage
	Strict bool
}

// Reasoning is a request's reasoning settings. Effort ("minimal", "low", "medium", "high") and
// Budget (tokens) are two spellings of the same wish; encoders convert one to the other.
type Reasoning struct {
	Effort string
	Budget int64
	// Off is an explicit request for no reasoning.
	Off bool
}

// Requested reports whether reasoning was asked for.
func (r Reasoning) Requested() bool { return !r.Off && (r.Effort != "" || r.Budget > 0) }

// Request is a chat request in canonical form.
type Request struct {
	Model    string
	System   []Part // Text parts
	Messages []Message
	Tools    []Tool
	Choice   ToolChoice
	// NoParallel forbids several tool calls in one answer.
	NoParallel bool

	MaxTokens   int64 // 0: unset
	Temperature *float64
	TopP        *float64
	TopK        *int64
	Stop        []string
	Seed        json.RawMessage // a JSON number, kept as sent
	User        string
	Format      Format
	Reasoning   Reasoning
	Stream      bool
	// IncludeUsage is an OpenAI caller's stream_options.include_usage.
	IncludeUsage bool
}

// StopReason is why the model stopped.
type StopReason uint8

// The stop reasons.
const (
	StopEnd StopReason = iota + 1
	StopMaxTokens
	StopSequence
	StopToolUse
	StopFiltered
)

// Usage is what an upstream reported for one call, in canonical form: every decoder (of any
// protocol, streamed or not) fills it, and billing prices it. PromptTokens counts every input
// token (cache reads and writes included); CompletionTokens counts every output token (reasoning
// included).
type Usage struct {
	PromptTokens int64
	// CachedTokens is the part of PromptTokens read from the prompt cache.
	CachedTokens int64
	// CacheWrite5mTokens and CacheWrite1hTokens are the parts of PromptTokens written to Claude's
	// 5-minute and 1-hour prompt caches.
	CacheWrite5mTokens int64
	CacheWrite1hTokens int64
	CompletionTokens   int64
	// ReasoningTokens is the part of CompletionTokens spent reasoning.
	ReasoningTokens int64
	// Images counts the images generated (image generation calls).
	Images int64
}

// Response is a complete (non-streamed) answer.
type Response struct {
	ID           string
	Model        string
	Parts        []Part // Text, Thinking, RedactedThinking and ToolCall parts
	Stop         StopReason
	StopSequence string
	Usage        Usage
	HasUsage     bool
}

// EventKind is the kind of a streamed event.
type EventKind uint8

// The streamed event kinds.
const (
	// EvStart opens the answer: ID and Model.
	EvStart EventKind = iota + 1
	// EvText and EvThinking carry a text delta; EvSignature a thinking signature delta;
	// EvRedacted a redacted thinking payload (Text).
	EvText
	EvThinking
	EvSignature
	EvRedacted
	// EvToolStart opens tool call number Index (0-based, in answer order) with ID and Name;
	// EvToolArgs appends Text to its JSON arguments.
	EvToolStart
	EvToolArgs
	// EvUsage carries the cumulative usage so far.
	EvUsage
	// EvStop carries the stop reason (and StopSequence).
	EvStop
	// EvError is an error the upstream reported mid-stream: Text is its message, ErrType its
	// kind in canonical words ("overloaded", "rate_limit", "invalid_request", "server").
	EvError
	// EvPing is a keep-alive.
	EvPing
)

// Event is one streamed event in canonical form.
type Event struct {
	Kind         EventKind
	Index        int
	ID           string
	Name         string
	Model        string
	Text         string
	ErrType      string
	Stop         StopReason
	StopSequence string
	Usage        Usage
}
