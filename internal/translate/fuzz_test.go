package translate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// addFixtures seeds a fuzz target with every fixture of a testdata directory, for each protocol.
func addFixtures(f *testing.F, dir string) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range protocols {
			f.Add(b, uint8(p))
		}
	}
	for _, junk := range []string{"", "null", "[]", "{", `{"messages":[{"role":"user","content":[{"type":"image"}]}]}`,
		`{"contents":[{"parts":[{"functionResponse":{}}]}]}`, `{"choices":[{"delta":{"tool_calls":[{"index":-1}]}}]}`} {
		f.Add([]byte(junk), uint8(OpenAI))
	}
}

func protocolOf(b uint8) Protocol { return Protocol(b%3 + 1) }

// FuzzRequest decodes arbitrary bodies as requests of each protocol and re-encodes what decodes:
// no panic, and every encoding is valid JSON.
func FuzzRequest(f *testing.F) {
	addFixtures(f, "requests")
	counter := NewCounter()
	f.Fuzz(func(t *testing.T, body []byte, from uint8) {
		r, err := decodeRequest(protocolOf(from), body)
		if err != nil {
			return
		}
		for _, to := range protocols {
			if out := encodeRequest(to, r); !json.Valid(out) {
				t.Fatalf("%s encoding is not JSON: %s", name(to), out)
			}
		}
		counter.Request(r)
	})
}

// FuzzResponse decodes arbitrary bodies as answers of each protocol and re-encodes them.
func FuzzResponse(f *testing.F) {
	addFixtures(f, "responses")
	f.Fuzz(func(t *testing.T, body []byte, from uint8) {
		r, err := decodeResponse(protocolOf(from), body)
		if err != nil {
			return
		}
		for _, to := range protocols {
			if out := encodeResponse(to, r); !json.Valid(out) {
				t.Fatalf("%s encoding is not JSON: %s", name(to), out)
			}
		}
	})
}

// FuzzStream feeds arbitrary server-sent events through every decoder and encoder: no panic, and
// every event written is valid JSON.
func FuzzStream(f *testing.F) {
	addFixtures(f, "streams")
	f.Fuzz(func(t *testing.T, sse []byte, from uint8) {
		dec := NewDecoder(protocolOf(from))
		encs := []StreamEncoder{NewEncoder(OpenAI, EncoderOptions{IncludeUsage: true}), NewEncoder(Claude, EncoderOptions{}),
			NewEncoder(Gemini, EncoderOptions{})}
		outs := make([][]byte, len(encs))
		var evs []Event
		for _, p := range payloads(sse) {
			var err error
			if evs, err = dec.Decode(evs[:0], p); err != nil {
				break
			}
			for i := range evs {
				for j, enc := range encs {
					outs[j] = enc.Encode(outs[j], &evs[i])
				}
			}
		}
		for j, enc := range encs {
			if dec.Done() {
				outs[j] = enc.Finish(outs[j])
			} else {
				outs[j] = enc.Fail(outs[j], 502, "cut")
			}
			for _, p := range payloads(outs[j]) {
				if !bytes.Equal(p, []byte("[DONE]")) && !json.Valid(p) {
					t.Fatalf("%s event is not JSON: %s", name(protocols[j]), p)
				}
			}
		}
	})
}
