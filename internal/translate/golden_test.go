package translate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var protocols = []Protocol{OpenAI, Claude, Gemini}

func name(p Protocol) string {
	switch p {
	case Claude:
		return "claude"
	case Gemini:
		return "gemini"
	}
	return "openai"
}

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	require.NoError(t, err)
	return b
}

// golden compares got with testdata/golden/file, rewriting it under -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if bytes.HasPrefix(got, []byte("{")) {
		var buf bytes.Buffer
		require.NoError(t, json.Indent(&buf, got, "", "  "), "%s", got)
		got = append(buf.Bytes(), '\n')
	}
	path := filepath.Join("testdata", "golden", file)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o600))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got), "%s differs (go test -update rewrites it)", path)
}

func decodeRequest(p Protocol, body []byte) (*Request, error) {
	switch p {
	case Claude:
		return DecodeClaudeRequest(body)
	case Gemini:
		return DecodeGeminiRequest(body, "gemini-2.5-flash", true)
	}
	return DecodeOpenAIRequest(body)
}

func encodeRequest(p Protocol, r *Request) []byte {
	switch p {
	case Claude:
		return EncodeClaudeRequest(r)
	case Gemini:
		return EncodeGeminiRequest(r)
	}
	return EncodeOpenAIRequest(r)
}

func decodeResponse(p Protocol, body []byte) (*Response, error) {
	switch p {
	case Claude:
		return DecodeClaudeResponse(body)
	case Gemini:
		return DecodeGeminiResponse(body)
	}
	return DecodeOpenAIResponse(body)
}

func encodeResponse(p Protocol, r *Response) []byte {
	switch p {
	case Claude:
		return EncodeClaudeResponse(r, "caller-model")
	case Gemini:
		return EncodeGeminiResponse(r, "caller-model")
	}
	r.Model = "caller-model"
	return EncodeOpenAIResponse(r, 1700000000)
}

// TestGoldenRequests converts each protocol's request fixture to every protocol.
func TestGoldenRequests(t *testing.T) {
	t.Parallel()
	for _, from := range protocols {
		for _, to := range protocols {
			t.Run(name(from)+"_to_"+name(to), func(t *testing.T) {
				t.Parallel()
				r, err := decodeRequest(from, read(t, "requests/"+name(from)+".json"))
				require.NoError(t, err)
				r.Model = "target-model"
				out := encodeRequest(to, r)
				require.True(t, json.Valid(out), "%s", out)
				golden(t, "request_"+name(from)+"_to_"+name(to)+".json", out)
			})
		}
	}
}

// TestGoldenResponses converts each protocol's answer fixture to every protocol.
func TestGoldenResponses(t *testing.T) {
	t.Parallel()
	for _, from := range protocols {
		for _, to := range protocols {
			t.Run(name(from)+"_to_"+name(to), func(t *testing.T) {
				t.Parallel()
				r, err := decodeResponse(from, read(t, "responses/"+name(from)+".json"))
				require.NoError(t, err)
				out := encodeResponse(to, r)
				require.True(t, json.Valid(out), "%s", out)
				golden(t, "response_"+name(from)+"_to_"+name(to)+".json", out)
			})
		}
	}
}

// payloads splits a recorded server-sent event stream into its data payloads.
func payloads(sse []byte) [][]byte {
	var out [][]byte
	for _, line := range bytes.Split(sse, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			out = append(out, d)
		}
	}
	return out
}

// convertStream runs a recorded upstream stream through a decoder and an encoder.
func convertStream(t testing.TB, from, to Protocol, sse []byte, o EncoderOptions) ([]byte, Usage, bool) {
	t.Helper()
	dec, enc := NewDecoder(from), NewEncoder(to, o)
	var out []byte
	var evs []Event
	var usage Usage
	for _, p := range payloads(sse) {
		var err error
		evs, err = dec.Decode(evs[:0], p)
		require.NoError(t, err)
		for i := range evs {
			if evs[i].Kind == EvUsage {
				usage = evs[i].Usage
			}
			out = enc.Encode(out, &evs[i])
		}
	}
	if !dec.Done() {
		return enc.Fail(out, 502, "interrupted"), usage, false
	}
	return enc.Finish(out), usage, true
}

// TestGoldenStreams converts each protocol's recorded stream to every protocol.
func TestGoldenStreams(t *testing.T) {
	t.Parallel()
	for _, from := range protocols {
		for _, to := range protocols {
			t.Run(name(from)+"_to_"+name(to), func(t *testing.T) {
				t.Parallel()
				out, usage, done := convertStream(t, from, to, read(t, "streams/"+name(from)+".sse"),
					EncoderOptions{Model: "caller-model", Created: 1700000000, IncludeUsage: true, InputTokens: 99})
				require.True(t, done)
				require.Equal(t, int64(120), usage.PromptTokens, "every fixture reports 120 input tokens")
				require.Equal(t, int64(64), usage.CachedTokens)
				for _, p := range payloads(out) {
					if !bytes.Equal(p, []byte("[DONE]")) {
						require.True(t, json.Valid(p), "%s", p)
					}
				}
				golden(t, "stream_"+name(from)+"_to_"+name(to)+".sse", out)
			})
		}
	}
}
