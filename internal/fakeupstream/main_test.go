package fakeupstream

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "sk-test-0123456789abcdef"

// testBundle is a fake upstream behind a real HTTP server.
type testBundle struct {
	fake   *Server
	base   string // base URL, with a /v1 prefix to prove suffix routing
	client *http.Client
}

func setup(t *testing.T, opts ...Option) *testBundle {
	t.Helper()
	fake := New(opts...)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &testBundle{fake: fake, base: srv.URL + "/v1", client: srv.Client()}
}

// do sends a request with key as bearer credential ("" for none) and returns the response.
func (tb *testBundle) do(ctx context.Context, t *testing.T, method, path, key, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, tb.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	return tb.client.Do(req)
}

// chat posts body to /chat/completions and returns the status, headers and full body.
func (tb *testBundle) chat(t *testing.T, key, body string) (int, http.Header, string) {
	t.Helper()
	resp, err := tb.do(t.Context(), t, http.MethodPost, "/chat/completions", key, body)
	require.NoError(t, err)
	defer closeBody(t, resp)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// sse is a parsed stream: the decoded chunks, whether [DONE] ended it, and the read error if any.
type sse struct {
	chunks []map[string]any
	done   bool
	err    error
}

// readSSE decodes every event of a stream, requiring each to be valid JSON and [DONE] to be last.
func readSSE(t *testing.T, r io.Reader) sse {
	t.Helper()
	var out sse
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		require.False(t, out.done, "event after [DONE]: %q", line)
		data, ok := strings.CutPrefix(line, "data: ")
		require.True(t, ok, "not a data line: %q", line)
		if data == "[DONE]" {
			out.done = true
			continue
		}
		var chunk map[string]any
		require.NoError(t, json.Unmarshal([]byte(data), &chunk), data)
		out.chunks = append(out.chunks, chunk)
	}
	out.err = sc.Err()
	return out
}

// content concatenates the delta contents of the chunks.
func (s sse) content() string {
	var sb strings.Builder
	for _, c := range s.chunks {
		choices, _ := c["choices"].([]any)
		for _, ch := range choices {
			delta, _ := ch.(map[string]any)["delta"].(map[string]any)
			text, _ := delta["content"].(string)
			sb.WriteString(text)
		}
	}
	return sb.String()
}

// contentEvents counts chunks carrying a non-empty delta content.
func (s sse) contentEvents() int {
	n := 0
	for _, c := range s.chunks {
		choices, _ := c["choices"].([]any)
		if len(choices) == 1 {
			delta, _ := choices[0].(map[string]any)["delta"].(map[string]any)
			if text, _ := delta["content"].(string); text != "" {
				n++
			}
		}
	}
	return n
}

// stream posts a streaming body to /chat/completions and returns the status, headers and events.
func (tb *testBundle) stream(t *testing.T, key, body string) (int, http.Header, sse) {
	t.Helper()
	resp, err := tb.do(t.Context(), t, http.MethodPost, "/chat/completions", key, body)
	require.NoError(t, err)
	defer closeBody(t, resp)
	return resp.StatusCode, resp.Header, readSSE(t, resp.Body)
}

// closeBody closes a response body, tolerating the error of a connection the server aborted.
func closeBody(t *testing.T, resp *http.Response) {
	t.Helper()
	_ = resp.Body.Close()
}

const (
	helloBody       = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there world"}]}`
	helloStream     = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello there world"}]}`
	helloStreamUsed = `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there world"}]}`
)
