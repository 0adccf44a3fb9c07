package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// BenchmarkTranslation compares the gateway's CPU per call when the caller's protocol matches
// the channel's (pass-through of raw bytes) and when it does not (decode, convert, encode, and
// convert the answer or each streamed event). Each sub-benchmark is one caller protocol against
// one channel type, normal and streamed:
//
//	go test -run '^$' -bench Translation -benchtime 5000x ./internal/api/gateway/
func BenchmarkTranslation(b *testing.B) {
	env := apptest.New(b, apptest.WithoutRedis())
	up := httptest.NewServer(fakeupstream.New(fakeupstream.WithoutRecording()))
	b.Cleanup(up.Close)
	for typ, model := range map[string]string{"openai": "b-openai", "anthropic": "b-claude", "gemini": "b-gemini"} {
		base := up.URL
		if typ == "openai" {
			base += "/v1"
		}
		res, err := env.Admin().ChannelCreateWithResponse(context.Background(), adminclient.ChannelCreate{
			Name: typ, Type: adminclient.ChannelType(typ), BaseUrl: base, Models: []string{model}})
		if err != nil || res.StatusCode() != http.StatusCreated {
			b.Fatal(err, string(res.Body))
		}
		if a, err := env.Admin().AccountCreateWithResponse(context.Background(), res.JSON201.Id,
			adminclient.AccountCreate{Credential: "sk-bench-" + typ}); err != nil || a.StatusCode() != http.StatusCreated {
			b.Fatal(err)
		}
		env.Price(model, 1_000_000, 2_000_000)
	}
	env.SharedQuota(1_000_000_000) // the benchmark measures the gateway, not the default cap per user
	user := env.NewUser("bench", 1_000_000_000_000)
	const text = "the quick brown fox jumps over a lazy dog"
	callers := []struct {
		name, path, body, ok string
		stream               func(body string) (string, string)
	}{
		{"openai", "/v1/chat/completions",
			`{"model":"MODEL","messages":[{"role":"system","content":"be terse"},{"role":"user","content":"` + text + `"}]}`,
			"choices", func(body string) (string, string) {
				return "/v1/chat/completions", strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)
			}},
		{"claude", "/v1/messages",
			`{"model":"MODEL","max_tokens":256,"system":"be terse","messages":[{"role":"user","content":"` + text + `"}]}`,
			"content", func(body string) (string, string) {
				return "/v1/messages", strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)
			}},
		{"gemini", "/v1beta/models/MODEL:generateContent",
			`{"systemInstruction":{"parts":[{"text":"be terse"}]},"contents":[{"role":"user","parts":[{"text":"` + text + `"}]}]}`,
			"candidates", func(body string) (string, string) {
				return "/v1beta/models/MODEL:streamGenerateContent?alt=sse", body
			}},
	}
	for _, c := range callers {
		for _, typ := range []string{"openai", "anthropic", "gemini"} {
			model := map[string]string{"openai": "b-openai", "anthropic": "b-claude", "gemini": "b-gemini"}[typ]
			for _, stream := range []bool{false, true} {
				path, body := c.path, c.body
				name := c.name + "_to_" + typ
				if stream {
					path, body = c.stream(body)
					name += "_stream"
				}
				path = strings.Replace(path, "MODEL", model, 1)
				raw := []byte(strings.Replace(body, "MODEL", model, 1))
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
							req.Header.Set("Authorization", "Bearer "+user.Key)
							req.Header.Set("Content-Type", "application/json")
							w := httptest.NewRecorder()
							env.App.Echo.ServeHTTP(w, req)
							if w.Code != http.StatusOK || (!stream && !strings.Contains(w.Body.String(), c.ok)) {
								b.Errorf("%s: status %d, body %q", name, w.Code, w.Body.String())
								return
							}
						}
					})
				})
			}
		}
	}
	b.StopTimer()
	env.FlushUsage()
}
