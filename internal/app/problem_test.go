package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
)

// TestValidationMessages: a request the contract refuses is answered with the field and the rule
// in the caller's terms — never an internal schema name, a schema dump or the value's type
// internals — and the code says what kind of problem it is.
func TestValidationMessages(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	channel := func(extra string) string {
		return `{"name":"x","type":"openai","base_url":"http://a","models":["m"]` + extra + `}`
	}
	for _, tt := range []struct {
		method, path, body string
		code, msg          string
	}{
		{"POST", "/api/channels", channel(`,"weight":"heavy"`), "invalid_request", "weight: value must be an integer"},
		{"POST", "/api/channels", `{"name":"x","type":"openai","base_url":"http://a","models":[1]}`, "invalid_request", "models[0]: value must be a string"},
		{"POST", "/api/channels", channel(`,"min_tier":"gold"`), "invalid_request", `min_tier: value is not one of the allowed values ["free","pro","ultra"]`},
		{"POST", "/api/channels", channel(`,"extra":1`), "invalid_request", `property "extra" is unsupported`},
		{"POST", "/api/channels", `{"name":`, "invalid_json", "the request body is not valid JSON"},
		{"POST", "/api/channels", ``, "invalid_request", "a request body is required"},
		{"POST", "/api/remote-account/inject", `{"tokens":"x"}`, "invalid_request", "tokens: value must be an array"},
		{"GET", "/api/hook-deliveries?status=zzz", ``, "invalid_request", `query parameter "status": value is not one of the allowed values ["pending","delivered","dead"]`},
		{"GET", "/api/channels/abc", ``, "invalid_request", `path parameter "id": value abc: an invalid integer`},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, env.URL+tt.path, strings.NewReader(tt.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+env.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := env.RawHTTP.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(t, http.StatusBadRequest, res.StatusCode, "%s %s: %s", tt.method, tt.path, b)
		var e struct {
			Detail struct{ Error, Code string } `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(b, &e))
		require.Equal(t, tt.code, e.Detail.Code, "%s %s", tt.method, tt.path)
		require.Equal(t, tt.msg, e.Detail.Error, "%s %s", tt.method, tt.path)
		require.NotContains(t, string(b), "#/components", "no internal schema names")
		require.NotContains(t, string(b), "schema", "no schema talk")
	}
}
