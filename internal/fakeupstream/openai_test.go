package fakeupstream

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestChatEcho(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	status, h, body := tb.chat(t, testKey, helloBody)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.True(t, strings.HasPrefix(h.Get("X-Request-Id"), "req_"))

	var got struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role    string  `json:"role"`
				Content string  `json:"content"`
				Refusal *string `json:"refusal"`
			} `json:"message"`
			Logprobs     any    `json:"logprobs"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens        int `json:"prompt_tokens"`
			CompletionTokens    int `json:"completion_tokens"`
			TotalTokens         int `json:"total_tokens"`
			PromptTokensDetails struct {
				CachedTokens int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
			CompletionTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		} `json:"usage"`
		SystemFingerprint string `json:"system_fingerprint"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.True(t, strings.HasPrefix(got.ID, "chatcmpl-"), got.ID)
	require.Equal(t, "chat.completion", got.Object)
	require.Positive(t, got.Created)
	require.Equal(t, "gpt-4o-mini", got.Model)
	require.Len(t, got.Choices, 1)
	require.Equal(t, "assistant", got.Choices[0].Message.Role)
	require.Equal(t, "echo: hello there world", got.Choices[0].Message.Content)
	require.Nil(t, got.Choices[0].Message.Refusal)
	require.Nil(t, got.Choices[0].Logprobs)
	require.Equal(t, "stop", got.Choices[0].FinishReason)
	require.Equal(t, 5, got.Usage.PromptTokens, "2 system words + 3 user words")
	require.Equal(t, 4, got.Usage.CompletionTokens)
	require.Equal(t, 9, got.Usage.TotalTokens)
	require.Zero(t, got.Usage.PromptTokensDetails.CachedTokens)
	require.True(t, strings.HasPrefix(got.SystemFingerprint, "fp_"))
	require.True(t, gjson.Get(body, "choices.0.message.refusal").Type == gjson.Null)
}

func TestChatEchoContentParts(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	status, _, body := tb.chat(t, testKey, `{"model":"m","messages":[
		{"role":"user","content":"first question"},
		{"role":"assistant","content":"an answer"},
		{"role":"user","content":[{"type":"text","text":"quoted \"x\""},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"line\nbreak"}]}]}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "echo: quoted \"x\" line\nbreak", gjson.Get(body, "choices.0.message.content").String())
	require.Equal(t, int64(8), gjson.Get(body, "usage.prompt_tokens").Int())
	require.Equal(t, int64(5), gjson.Get(body, "usage.completion_tokens").Int())
}

func TestChatStream(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	status, h, s := tb.stream(t, testKey, helloStream)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "text/event-stream", h.Get("Content-Type"))
	require.NoError(t, s.err)
	require.True(t, s.done)
	require.Len(t, s.chunks, 1+4+1, "role, one per word, finish")
	require.Equal(t, "echo: hello there world", s.content())
	require.Equal(t, 4, s.contentEvents())

	id := s.chunks[0]["id"]
	for _, c := range s.chunks {
		require.Equal(t, id, c["id"])
		require.Equal(t, "chat.completion.chunk", c["object"])
		require.Equal(t, "gpt-4o-mini", c["model"])
		require.NotContains(t, c, "usage", "usage is absent unless include_usage")
		require.Len(t, c["choices"], 1)
	}
	first := s.chunks[0]["choices"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{"role": "assistant", "content": "", "refusal": nil}, first["delta"])
	require.Nil(t, first["finish_reason"])
	last := s.chunks[len(s.chunks)-1]["choices"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{}, last["delta"])
	require.Equal(t, "stop", last["finish_reason"])
}

func TestChatStreamIncludeUsage(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	_, _, s := tb.stream(t, testKey, helloStreamUsed)
	require.NoError(t, s.err)
	require.True(t, s.done)
	require.Len(t, s.chunks, 1+4+1+1)
	for _, c := range s.chunks[:len(s.chunks)-1] {
		require.Contains(t, c, "usage")
		require.Nil(t, c["usage"])
	}
	last := s.chunks[len(s.chunks)-1]
	require.Equal(t, []any{}, last["choices"])
	usage := last["usage"].(map[string]any)
	require.InDelta(t, 3, usage["prompt_tokens"], 0)
	require.InDelta(t, 4, usage["completion_tokens"], 0)
	require.InDelta(t, 7, usage["total_tokens"], 0)

	tb.fake.Enqueue(Reply{OmitUsage: true})
	_, _, s = tb.stream(t, testKey, helloStreamUsed)
	require.True(t, s.done)
	require.Len(t, s.chunks, 1+4+1, "no usage chunk")
}

func TestModels(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name string
		opts []Option
		want []string
	}{
		{"default", nil, DefaultModels()},
		{"custom", []Option{WithModels("gpt-a", "gpt-b")}, []string{"gpt-a", "gpt-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t, tc.opts...)
			tb.fake.Enqueue(Reply{Status: http.StatusInternalServerError})

			resp, err := tb.do(t.Context(), t, http.MethodGet, "/models", testKey, "")
			require.NoError(t, err)
			defer closeBody(t, resp)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var list struct {
				Object string `json:"object"`
				Data   []struct {
					ID     string `json:"id"`
					Object string `json:"object"`
				} `json:"data"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
			require.Equal(t, "list", list.Object)
			ids := make([]string, 0, len(list.Data))
			for _, m := range list.Data {
				require.Equal(t, "model", m.Object)
				ids = append(ids, m.ID)
			}
			require.Equal(t, tc.want, ids)
			require.Equal(t, 1, tb.fake.Pending(), "listing models consumes no script")
		})
	}
}

// requireOpenAIError checks an OpenAI error body and returns its error object.
func requireOpenAIError(t *testing.T, body, typ, code string) gjson.Result {
	t.Helper()
	require.True(t, gjson.Valid(body), body)
	e := gjson.Get(body, "error")
	require.True(t, e.IsObject(), body)
	require.NotEmpty(t, e.Get("message").String(), body)
	require.Equal(t, typ, e.Get("type").String(), body)
	require.True(t, e.Get("param").Exists(), body)
	if code == "" {
		require.Equal(t, gjson.Null, e.Get("code").Type, body)
	} else {
		require.Equal(t, code, e.Get("code").String(), body)
	}
	return e
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	for _, tc := range []struct {
		name, body string
		code       string
	}{
		{"invalid json", `{"model":`, ""},
		{"no model", `{"messages":[{"role":"user","content":"hi"}]}`, ""},
		{"no messages", `{"model":"gpt-4o"}`, "missing_required_parameter"},
		{"empty messages", `{"model":"gpt-4o","messages":[]}`, "empty_array"},
		{"stream_options without stream", `{"model":"gpt-4o","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, ""},
	} {
		status, _, body := tb.chat(t, testKey, tc.body)
		require.Equal(t, http.StatusBadRequest, status, tc.name)
		requireOpenAIError(t, body, "invalid_request_error", tc.code)
	}

	resp, err := tb.do(t.Context(), t, http.MethodPost, "/nowhere", testKey, "{}")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, err = tb.do(t.Context(), t, http.MethodGet, "/chat/completions", testKey, "")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tb := setup(t, WithKeys(testKey, "sk-other"))

	status, _, body := tb.chat(t, "", helloBody)
	require.Equal(t, http.StatusUnauthorized, status)
	e := requireOpenAIError(t, body, "invalid_request_error", "")
	require.Contains(t, e.Get("message").String(), "You didn't provide an API key")

	const wrong = "sk-wrong-key-1234567890abcd"
	status, _, body = tb.chat(t, wrong, helloBody)
	require.Equal(t, http.StatusUnauthorized, status)
	e = requireOpenAIError(t, body, "invalid_request_error", "invalid_api_key")
	require.Equal(t, "Incorrect API key provided: "+MaskKey(wrong)+
		". You can find your API key at https://platform.openai.com/account/api-keys.", e.Get("message").String())
	require.Contains(t, e.Get("message").String(), "sk-wrong***************abcd")
	require.NotContains(t, body, wrong)

	status, _, _ = tb.chat(t, "sk-other", helloBody)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, int64(3), tb.fake.Count())
}

func TestScriptedStatusBodies(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	for _, tc := range []struct {
		status    int
		typ, code string
	}{
		{400, "invalid_request_error", "context_length_exceeded"},
		{401, "invalid_request_error", "invalid_api_key"},
		{403, "request_forbidden", "unsupported_country_region_territory"},
		{404, "invalid_request_error", "model_not_found"},
		{429, "requests", "rate_limit_exceeded"},
		{500, "server_error", ""},
		{503, "server_error", ""},
		{529, "server_error", "overloaded"},
		{418, "invalid_request_error", ""},
	} {
		tb.fake.Enqueue(Reply{Status: tc.status})
		status, h, body := tb.chat(t, testKey, helloBody)
		require.Equal(t, tc.status, status)
		require.Equal(t, "application/json", h.Get("Content-Type"))
		e := requireOpenAIError(t, body, tc.typ, tc.code)
		switch tc.status {
		case 404:
			require.Contains(t, e.Get("message").String(), "`gpt-4o-mini`")
		case 429:
			require.Equal(t, "1", h.Get("Retry-After"))
			require.Equal(t, "1s", h.Get("X-Ratelimit-Reset-Requests"))
		}
	}

	tb.fake.Enqueue(Reply{Status: 502})
	status, _, body := tb.chat(t, testKey, helloBody)
	require.Equal(t, 502, status)
	require.Equal(t, "cf_bad_gateway", gjson.Get(body, "error.type").String())

	tb.fake.Enqueue(Reply{Status: 429, Body: OpenAIInsufficientQuotaBody, Header: map[string]string{"retry-after": "7"}})
	status, h, body := tb.chat(t, testKey, helloBody)
	require.Equal(t, 429, status)
	require.Equal(t, "7", h.Get("Retry-After"))
	requireOpenAIError(t, body, "insufficient_quota", "insufficient_quota")
}
