package translate

import (
	"testing"
)

// BenchmarkConvert measures the CPU translation adds to one call: the request (decode and
// encode), the answer (decode and encode), and a whole recorded stream (every event decoded and
// encoded), for each pair of protocols. Pass-through does none of this work.
//
//	go test -run '^$' -bench Convert -benchmem ./internal/translate/
func BenchmarkConvert(b *testing.B) {
	for _, from := range protocols {
		for _, to := range protocols {
			if from == to {
				continue
			}
			req := read(b, "requests/"+name(from)+".json")
			resp := read(b, "responses/"+name(to)+".json")
			sse := read(b, "streams/"+name(to)+".sse")
			b.Run("request_"+name(from)+"_to_"+name(to), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r, err := decodeRequest(from, req)
					if err != nil {
						b.Fatal(err)
					}
					encodeRequest(to, r)
				}
			})
			b.Run("answer_"+name(to)+"_to_"+name(from), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r, err := decodeResponse(to, resp)
					if err != nil {
						b.Fatal(err)
					}
					encodeResponse(from, r)
				}
			})
			events := payloads(sse)
			b.Run("stream_"+name(to)+"_to_"+name(from), func(b *testing.B) {
				b.ReportAllocs()
				var evs []Event
				var out []byte
				for b.Loop() {
					dec, enc := NewDecoder(to), NewEncoder(from, EncoderOptions{Model: "m", IncludeUsage: true})
					for _, p := range events {
						evs, _ = dec.Decode(evs[:0], p)
						out = out[:0]
						for i := range evs {
							out = enc.Encode(out, &evs[i])
						}
					}
					enc.Finish(out[:0])
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
			})
		}
	}
	r, _ := DecodeOpenAIRequest(read(b, "requests/openai.json"))
	c := NewCounter()
	b.Run("count_tokens_fixture", func(b *testing.B) {
		for b.Loop() {
			c.Request(r)
		}
	})
}

// BenchmarkTextStream measures the common case of a translated stream: an OpenAI upstream's
// text-only answer (role, one chunk per word, finish, usage) read and written as Claude events.
//
//	go test -run '^$' -bench TextStream -benchmem ./internal/translate/
func BenchmarkTextStream(b *testing.B) {
	head := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[`
	events := [][]byte{[]byte(head + `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}`)}
	for _, w := range []string{"The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog.\\n", "\\\"Done\\\""} {
		events = append(events, []byte(head+`{"index":0,"delta":{"content":"`+w+`"},"finish_reason":null}],"usage":null}`))
	}
	events = append(events, []byte(head+`{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`),
		[]byte(head+`],"usage":{"prompt_tokens":9,"completion_tokens":10,"total_tokens":19}}`), []byte("[DONE]"))
	b.ReportAllocs()
	var evs []Event
	var out []byte
	for b.Loop() {
		dec, enc := NewDecoder(OpenAI), NewEncoder(Claude, EncoderOptions{Model: "m", InputTokens: 9})
		for _, p := range events {
			evs, _ = dec.Decode(evs[:0], p)
			out = out[:0]
			for i := range evs {
				out = enc.Encode(out, &evs[i])
			}
		}
		enc.Finish(out[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
}

// BenchmarkSmallCall measures the per-call work of the commonest translated call (the shape
// poolbench loads): a short Claude request to an OpenAI channel and its non-streamed answer.
//
//	go test -run '^$' -bench SmallCall -benchmem ./internal/translate/
func BenchmarkSmallCall(b *testing.B) {
	req := []byte(`{"model":"gpt-4o-bench","max_tokens":1024,"system":"be terse","messages":[{"role":"user","content":"w0 w1 w2 w3 w4 w5 w6 w7"}]}`)
	resp := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-bench","choices":[{"index":0,"message":{"role":"assistant","content":"w0 w1 w2 w3 w4 w5 w6 w7","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}`)
	b.Run("request_claude_to_openai", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := DecodeClaudeRequest(req)
			if err != nil {
				b.Fatal(err)
			}
			EncodeOpenAIRequest(r)
		}
	})
	b.Run("request_claude_to_openai_direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ClaudeToOpenAIFast(req, "gpt-4o-bench", false); !ok {
				b.Fatal("not the common shape")
			}
		}
	})
	b.Run("answer_openai_to_claude", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := DecodeOpenAIResponse(resp)
			if err != nil {
				b.Fatal(err)
			}
			EncodeClaudeResponse(r, "claude-bench")
		}
	})
}
