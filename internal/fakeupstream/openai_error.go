package fakeupstream

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// OpenAI error types and messages as the real API sends them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServerError    = "server_error"

	msgInvalidJSON = "We could not parse the JSON body of your request. (HINT: This likely means you aren't " +
		"using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not " +
		"valid JSON. If you have trouble figuring out how to fix this, please contact us through our help " +
		"center at help.openai.com.)"
	msgNoKey = "You didn't provide an API key. You need to provide your API key in an Authorization header " +
		"using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank " +
		"username) if you're accessing the API from your browser and are prompted for a username and " +
		"password. You can obtain an API key from https://platform.openai.com/account/api-keys."
)

// OpenAIInsufficientQuotaBody is OpenAI's 429 body for an account out of credit, which unlike a
// rate limit does not clear by waiting. Script it with Reply{Status: 429, Body: OpenAIInsufficientQuotaBody}.
const OpenAIInsufficientQuotaBody = `{"error":{"message":"You exceeded your current quota, please check ` +
	`your plan and billing details. For more information on this error, read the docs: ` +
	`https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota",` +
	`"param":null,"code":"insufficient_quota"}}`

// bodyBadGateway is what OpenAI's edge answers when its origin fails: note the numeric code.
const bodyBadGateway = `{"error":{"code":502,"message":"Bad gateway.","param":null,"type":"cf_bad_gateway"}}` + "\n"

// MaskKey masks a credential the way OpenAI echoes it in its invalid-key message: the first 8
// characters, one '*' per hidden character, the last 4 ("sk-abcde************wxyz"). Keys of 12
// characters or fewer keep only their first and last 2 characters. Tests use it to prove that a
// gateway never forwards such a message, which would leak part of its own key.
func MaskKey(key string) string {
	n := len(key)
	switch {
	case n > 12:
		return key[:8] + strings.Repeat("*", n-12) + key[n-4:]
	case n > 4:
		return key[:2] + strings.Repeat("*", n-4) + key[n-2:]
	default:
		return strings.Repeat("*", n)
	}
}

// writeError writes an OpenAI error object; empty param and code are sent as null.
func (o *openAI) writeError(x *exchange, status int, message, typ, param, code string) {
	b := x.scratch.out[:0]
	b = append(b, `{"error":{"message":`...)
	b = jsonx.AppendString(b, message)
	b = append(b, `,"type":`...)
	b = jsonx.AppendString(b, typ)
	b = append(b, `,"param":`...)
	b = appendNullable(b, param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, code)
	b = append(b, "}}\n"...)
	x.scratch.out = b
	o.writeRaw(x, status, b)
}

func (o *openAI) writeRaw(x *exchange, status int, body []byte) {
	h := x.w.Header()
	o.commonHeaders(h, hdrJSON)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonx.AppendString(b, s)
}

// unauthorized answers OpenAI's 401 for a missing or incorrect API key.
func (o *openAI) unauthorized(x *exchange) {
	if x.credential == "" {
		o.writeError(x, http.StatusUnauthorized, msgNoKey, typeInvalidRequest, "", "")
		return
	}
	o.writeError(x, http.StatusUnauthorized,
		"Incorrect API key provided: "+MaskKey(x.credential)+
			". You can find your API key at https://platform.openai.com/account/api-keys.",
		typeInvalidRequest, "", "invalid_api_key")
}

// noRoute answers OpenAI's 404 for an unknown URL or 405 for a wrong method.
func (o *openAI) noRoute(x *exchange, status int) {
	msg := "Invalid URL (" + x.r.Method + " " + x.r.URL.Path + ")"
	if status == http.StatusMethodNotAllowed {
		msg = "Invalid method for URL (" + x.r.Method + " " + x.r.URL.Path + ")"
	}
	o.writeError(x, status, msg, typeInvalidRequest, "", "")
}

// statusError answers status with the body and headers OpenAI sends for it.
func (o *openAI) statusError(x *exchange, status int) {
	switch status {
	case http.StatusBadRequest:
		o.writeError(x, status, "This model's maximum context length is 128000 tokens. However, your "+
			"messages resulted in 131072 tokens. Please reduce the length of the messages.",
			typeInvalidRequest, "messages", "context_length_exceeded")
	case http.StatusUnauthorized:
		o.unauthorized(x)
	case http.StatusForbidden:
		o.writeError(x, status, "Country, region, or territory not supported", "request_forbidden",
			"", "unsupported_country_region_territory")
	case http.StatusNotFound:
		model := gjson.GetBytes(x.body, "model").String()
		o.writeError(x, status, "The model `"+model+"` does not exist or you do not have access to it.",
			typeInvalidRequest, "", "model_not_found")
	case http.StatusRequestEntityTooLarge:
		o.writeError(x, status, "Request too large: the request body exceeds the maximum size.",
			typeInvalidRequest, "", "request_too_large")
	case http.StatusTooManyRequests:
		h := x.w.Header()
		setDefault(h, "Retry-After", []string{"1"})
		setDefault(h, "X-Ratelimit-Limit-Requests", []string{"500"})
		setDefault(h, "X-Ratelimit-Remaining-Requests", []string{"0"})
		setDefault(h, "X-Ratelimit-Reset-Requests", []string{"1s"})
		model := gjson.GetBytes(x.body, "model").String()
		if model == "" {
			model = "gpt-4o"
		}
		o.writeError(x, status, "Rate limit reached for "+model+" in organization org-fakeupstream on "+
			"requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 1s. Visit "+
			"https://platform.openai.com/account/rate-limits to learn more.",
			"requests", "", "rate_limit_exceeded")
	case http.StatusInternalServerError:
		o.writeError(x, status, "The server had an error while processing your request. Sorry about that!",
			typeServerError, "", "")
	case http.StatusBadGateway:
		o.writeRaw(x, status, []byte(bodyBadGateway))
	case http.StatusServiceUnavailable:
		o.writeError(x, status, "The server is overloaded or not ready yet.", typeServerError, "", "")
	case 529:
		o.writeError(x, status, "The server is currently overloaded with other requests. Please try again later.",
			typeServerError, "", "overloaded")
	default:
		typ := typeInvalidRequest
		if status >= 500 {
			typ = typeServerError
		}
		msg := http.StatusText(status)
		if msg == "" {
			msg = "Unexpected status " + strconv.Itoa(status)
		}
		o.writeError(x, status, msg, typ, "", "")
	}
}
