package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/poolgate/poolgate/internal/apptest"
)

// rawCall sends body to path with the given headers and returns the status and the body.
func rawCall(t *testing.T, env *apptest.Env, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(context.Background(), method, env.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := env.RawHTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(raw)
}

// TestModelRetrieveInEachShape: the official SDKs' retrieve calls (openai-go, anthropic-sdk-go,
// genai with API versions v1beta and v1) get their own model shape, and an unknown model their
// own 404.
func TestModelRetrieveInEachShape(t *testing.T) {
	t.Parallel()
	env, user := matrixEnv(t)
	ctx := context.Background()
	id := upstreamModels["openai"]

	oa := client(env, user.Key)
	m, err := oa.Models.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, id, m.ID)
	require.Equal(t, "model", string(m.Object))
	require.Equal(t, "poolgate", m.OwnedBy)
	_, err = oa.Models.Get(ctx, "no-such-model")
	var oe *openai.Error
	require.ErrorAs(t, err, &oe)
	require.Equal(t, http.StatusNotFound, oe.StatusCode)
	require.Equal(t, "model_not_found", oe.Code)

	claude := anthropic.NewClient(aoption.WithBaseURL(env.URL), aoption.WithAPIKey(user.Key),
		aoption.WithHTTPClient(env.HTTP), aoption.WithMaxRetries(0))
	cm, err := claude.Models.Get(ctx, upstreamModels["anthropic"], anthropic.ModelGetParams{})
	require.NoError(t, err)
	require.Equal(t, upstreamModels["anthropic"], cm.ID)
	require.Equal(t, upstreamModels["anthropic"], cm.DisplayName)
	require.False(t, cm.CreatedAt.IsZero())
	_, err = claude.Models.Get(ctx, "no-such-model", anthropic.ModelGetParams{})
	var ae *anthropic.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusNotFound, ae.StatusCode)
	require.Equal(t, "not_found_error", gjson.Get(ae.RawJSON(), "error.type").String(), ae.RawJSON())

	for _, version := range []string{"v1beta", "v1"} {
		gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: user.Key, Backend: genai.BackendGeminiAPI,
			HTTPClient: env.HTTP, HTTPOptions: genai.HTTPOptions{BaseURL: env.URL + "/", APIVersion: version}})
		require.NoError(t, err)
		gm, err := gc.Models.Get(ctx, upstreamModels["gemini"], nil)
		require.NoError(t, err, version)
		require.Equal(t, "models/"+upstreamModels["gemini"], gm.Name, version)
		require.Contains(t, gm.SupportedActions, "generateContent", version)
		_, err = gc.Models.Get(ctx, "no-such-model", nil)
		var ge genai.APIError
		require.ErrorAs(t, err, &ge, version)
		require.Equal(t, http.StatusNotFound, ge.Code, version)
		require.Equal(t, "NOT_FOUND", ge.Status, version)
	}
}

// TestRequestBounds: members outside the contract's ranges are a 400 in each protocol's shape,
// OpenAI's with the message, code and param OpenAI answers with; nothing reaches the upstream.
func TestRequestBounds(t *testing.T) {
	t.Parallel()
	env, user := matrixEnv(t)
	bearer := map[string]string{"Authorization": "Bearer " + user.Key}
	om := upstreamModels["openai"]
	for _, c := range []struct{ body, code, param, msg string }{
		{`{"model":"` + om + `","messages":[{"role":"user","content":"hi"}],"temperature":2.5}`, "decimal_above_max_value", "temperature",
			"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead."},
		{`{"model":"` + om + `","messages":[{"role":"user","content":"hi"}],"top_p":-0.1}`, "decimal_below_min_value", "top_p",
			"Invalid 'top_p': decimal below minimum value. Expected a value >= 0, but got -0.1 instead."},
		{`{"model":"` + om + `","messages":[{"role":"user","content":"hi"}],"n":129}`, "integer_above_max_value", "n",
			"Invalid 'n': integer above maximum value. Expected a value <= 128, but got 129 instead."},
		{`{"model":"` + om + `","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, "integer_below_min_value", "max_tokens",
			"Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead."},
		{`{"model":"` + om + `","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`, "invalid_type", "temperature",
			"Invalid type for 'temperature': expected a decimal, but got a string instead."},
	} {
		status, body := rawCall(t, env, http.MethodPost, "/v1/chat/completions", c.body, bearer)
		require.Equal(t, http.StatusBadRequest, status, body)
		require.Equal(t, "invalid_request_error", gjson.Get(body, "error.type").String(), body)
		require.Equal(t, c.code, gjson.Get(body, "error.code").String(), body)
		require.Equal(t, c.param, gjson.Get(body, "error.param").String(), body)
		require.Equal(t, c.msg, gjson.Get(body, "error.message").String(), body)
	}
	// In range and null pass.
	status, body := rawCall(t, env, http.MethodPost, "/v1/chat/completions",
		`{"model":"`+om+`","messages":[{"role":"user","content":"hi"}],"temperature":2,"top_p":null,"n":1}`, bearer)
	require.Equal(t, http.StatusOK, status, body)

	// Claude: temperature is 0..1 there.
	status, body = rawCall(t, env, http.MethodPost, "/v1/messages",
		`{"model":"`+upstreamModels["anthropic"]+`","max_tokens":16,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": user.Key, "anthropic-version": "2023-06-01"})
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "error", gjson.Get(body, "type").String(), body)
	require.Equal(t, "invalid_request_error", gjson.Get(body, "error.type").String(), body)
	require.Equal(t, "temperature: Input should be less than or equal to 1", gjson.Get(body, "error.message").String())

	// Gemini: generationConfig bounds.
	status, body = rawCall(t, env, http.MethodPost, "/v1beta/models/"+upstreamModels["gemini"]+":generateContent",
		`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":3}}`,
		map[string]string{"x-goog-api-key": user.Key})
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Equal(t, "INVALID_ARGUMENT", gjson.Get(body, "error.status").String(), body)
	require.Equal(t, "generationConfig.temperature: Input should be less than or equal to 2", gjson.Get(body, "error.message").String())
	require.EqualValues(t, 1, env.Upstream.Count(), "only the in-range call reached the upstream")
}

// TestMissingKeyAndUnknownMethodsPerProtocol: a call without a key is told where its own SDK
// sends one, and an unknown method on a Gemini route is not INTERNAL.
func TestMissingKeyAndUnknownMethodsPerProtocol(t *testing.T) {
	t.Parallel()
	env, _ := matrixEnv(t)
	status, body := rawCall(t, env, http.MethodPost, "/v1/messages", `{"model":"m","max_tokens":1,"messages":[]}`, nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "authentication_error", gjson.Get(body, "error.type").String(), body)
	require.Contains(t, gjson.Get(body, "error.message").String(), "x-api-key")

	for _, path := range []string{"/v1beta/models/gemini-x:generateContent", "/v1/models/gemini-x:generateContent", "/v1beta/models"} {
		method := http.MethodPost
		if path == "/v1beta/models" {
			method = http.MethodGet
		}
		status, body = rawCall(t, env, method, path, `{}`, nil)
		require.Equal(t, http.StatusUnauthorized, status, path)
		require.Equal(t, "UNAUTHENTICATED", gjson.Get(body, "error.status").String(), body)
		require.Contains(t, gjson.Get(body, "error.message").String(), "x-goog-api-key", path)
	}
	status, body = rawCall(t, env, http.MethodPost, "/v1/chat/completions", `{}`, nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, gjson.Get(body, "error.message").String(), "Authorization: Bearer")

	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		status, body = rawCall(t, env, method, "/v1beta/models/gemini-x:generateContent", `{}`, nil)
		require.Equal(t, http.StatusMethodNotAllowed, status, method)
		require.NotEqual(t, "INTERNAL", gjson.Get(body, "error.status").String(), body)
		require.Equal(t, "UNIMPLEMENTED", gjson.Get(body, "error.status").String(), body)
	}
}
