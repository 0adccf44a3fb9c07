// Package provider names the upstream protocols Poolgate speaks and the one interface their
// adapters implement. Each protocol has its own package (openai, anthropic, gemini) that owns
// everything of its wire format the gateway needs: URLs below a channel's base URL, auth headers,
// request encoding (model substitution, the stream usage flag), usage, error bodies, the model
// list, the test call and stream decoding. Conversions between protocols stay in
// internal/translate; the adapters call them. The relay and the pool look an adapter up by
// protocol (For, ForChannel) and never switch on the protocol themselves.
//
// The package works on bytes and net/http types only.
package provider

import (
	"bytes"
	"net/http"

	"github.com/poolgate/poolgate/internal/provider/anthropic"
	"github.com/poolgate/poolgate/internal/provider/gemini"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/translate"
)

// Adapter is one upstream protocol's wire format.
type Adapter interface {
	// Protocol is the wire format the adapter speaks.
	Protocol() translate.Protocol

	// URL is the URL of a call below a channel's base URL (with or without the API version):
	// path is an API path below the version ("/chat/completions", "/messages") or a Gemini
	// method ("generateContent"); model is the upstream model, for protocols that name it in
	// the URL.
	URL(base, model, path string) string
	// ChatPath is the path (or method) of a chat call translated into this protocol.
	ChatPath(stream bool) string
	// SetHeaders sets the credential and protocol headers of an upstream request. in holds the
	// caller's headers when the caller speaks this protocol (the protocol's own headers, such as
	// anthropic-version, are passed on), else nil.
	SetHeaders(h, in http.Header, credential string)
	// WithModel returns body asking for model instead of the caller's (body itself when the
	// protocol names the model in the URL).
	WithModel(body []byte, model string) ([]byte, error)
	// WithStreamUsage returns a streamed chat body that asks the upstream to report usage at the
	// end of the stream (body itself when the protocol always reports it).
	WithStreamUsage(body []byte) ([]byte, error)

	// DecodeRequest decodes a chat request of this protocol into the canonical request (model
	// and stream are the call's, which Gemini carries in the URL).
	DecodeRequest(body []byte, model string, stream bool) (*translate.Request, error)
	// EncodeRequest encodes the canonical request as this protocol's chat request.
	EncodeRequest(r *translate.Request) []byte
	// DecodeResponse decodes a complete chat answer of this protocol.
	DecodeResponse(body []byte) (*translate.Response, error)
	// EncodeResponse encodes a complete answer for a caller of this protocol, naming model;
	// created is the answer's time (Unix seconds) where the protocol carries one.
	EncodeResponse(r *translate.Response, model string, created int64) []byte
	// NewStreamDecoder returns a decoder of this protocol's chat stream.
	NewStreamDecoder() translate.StreamDecoder
	// NewStreamEncoder returns an encoder of this protocol's chat stream.
	NewStreamEncoder(o translate.EncoderOptions) translate.StreamEncoder
	// Usage reads the usage of a complete answer; ok is false when it reports none.
	Usage(body []byte) (u translate.Usage, ok bool)
	// TokenCount is this protocol's answer to a token count of n tokens (nil: the protocol
	// has no token count call).
	TokenCount(n int64) []byte

	// Error reads an upstream error body: its message, and its type and code in the protocol's
	// own words (empty strings for a body that is not this protocol's error).
	Error(body []byte) (message, typ, code string)

	// ModelsURL is the URL of the model list below a channel's base URL.
	ModelsURL(base string) string
	// ModelIDs reads the model names of a model list answer.
	ModelIDs(body []byte) []string
	// TestCall is the URL and body of a minimal chat call asking model TestPrompt.
	TestCall(base, model string) (url string, body []byte)
	// AnswerText is the text of a complete chat answer.
	AnswerText(body []byte) string
}

// CredentialHeaderer is an Adapter whose SetHeaders sets one header, made from the credential
// alone (the caller's headers play no part): its name (canonical) and value, which the relay
// makes once per credential rather than on every call.
type CredentialHeaderer interface {
	CredentialHeader(credential string) (name, value string)
}

// TestPrompt is what a test call asks, and TestMaxTokens bounds its answer.
const (
	TestPrompt    = openai.TestPrompt
	TestMaxTokens = openai.TestMaxTokens
)

// adapters holds the adapter of each protocol, indexed by translate.Protocol. It is never
// written.
var adapters = [...]Adapter{
	translate.OpenAI: openai.Adapter{},
	translate.Claude: anthropic.Adapter{},
	translate.Gemini: gemini.Adapter{},
}

// For is the adapter of protocol p; ok is false for an unknown protocol.
func For(p translate.Protocol) (a Adapter, ok bool) {
	if int(p) >= len(adapters) || adapters[p] == nil {
		return nil, false
	}
	return adapters[p], true
}

// ForChannel is the adapter of a channel type; ok is false for an unknown type.
func ForChannel(channelType string) (Adapter, bool) {
	p, ok := translate.ProtocolOf(channelType)
	if !ok {
		return nil, false
	}
	return For(p)
}

// keyPrefixes start the credentials providers echo back in error messages.
var keyPrefixes = [][]byte{[]byte("sk-"), []byte("sk_"), []byte("AIza"), []byte("xai-"), []byte("Bearer ")}

// Redact removes the secret, and any word that looks like a provider credential (masked or not),
// from an upstream message before it is shown to a caller.
func Redact(s, secret string) string {
	out := []byte(s)
	if len(secret) >= 6 {
		out = bytes.ReplaceAll(out, []byte(secret), []byte("[redacted]"))
	}
	for _, p := range keyPrefixes {
		for from := 0; ; {
			i := bytes.Index(out[from:], p)
			if i < 0 {
				break
			}
			i += from
			j := i + len(p)
			for j < len(out) && !isWordEnd(out[j]) {
				j++
			}
			out = append(out[:i], append([]byte("[redacted]"), out[j:]...)...)
			from = i + len("[redacted]")
		}
	}
	return string(out)
}

func isWordEnd(c byte) bool {
	return c == ' ' || c == '"' || c == '\'' || c == ',' || c == '\n' || c == ')' || c == '('
}
