package reliability_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

// faultModel is the model every fault test calls (an OpenAI-type channel on the fake upstream;
// Claude and Gemini callers are translated).
const faultModel = "gpt-4o-mini"

// caller is one of the gateway's three protocols, as a client speaks it.
type caller struct {
	name string
	// request builds the call for the key; stream asks for a streamed answer.
	request func(base, key string, stream bool) *http.Request
	// errorMessage returns the error message of a non-streamed error answer in the protocol's own
	// shape ("" when the body is not that shape).
	errorMessage func(body []byte) string
	// streamError reports whether a streamed answer ends with the protocol's error event.
	streamError func(body []byte) bool
	// text returns the answer's text (non-streamed).
	text func(body []byte) string
}

var callers = []caller{
	{
		name: "openai",
		request: func(base, key string, stream bool) *http.Request {
			body := `{"model":"` + faultModel + `","messages":[{"role":"user","content":"say hello"}],"stream":` + boolText(stream) + `}`
			r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("Content-Type", "application/json")
			return r
		},
		errorMessage: func(b []byte) string {
			if !gjson.GetBytes(b, "error.type").Exists() {
				return ""
			}
			return gjson.GetBytes(b, "error.message").String()
		},
		streamError: func(b []byte) bool {
			return bytes.Contains(b, []byte(`data: {"error":{`)) && !bytes.Contains(b, []byte("[DONE]"))
		},
		text: func(b []byte) string { return gjson.GetBytes(b, "choices.0.message.content").String() },
	},
	{
		name: "claude",
		request: func(base, key string, stream bool) *http.Request {
			body := `{"model":"` + faultModel + `","max_tokens":64,"messages":[{"role":"user","content":"say hello"}],"stream":` + boolText(stream) + `}`
			r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1/messages", strings.NewReader(body))
			r.Header.Set("X-Api-Key", key)
			r.Header.Set("Anthropic-Version", "2023-06-01")
			r.Header.Set("Content-Type", "application/json")
			return r
		},
		errorMessage: func(b []byte) string {
			if gjson.GetBytes(b, "type").String() != "error" {
				return ""
			}
			return gjson.GetBytes(b, "error.message").String()
		},
		streamError: func(b []byte) bool {
			return bytes.Contains(b, []byte("event: error\n")) && !bytes.Contains(b, []byte("event: message_stop"))
		},
		text: func(b []byte) string { return gjson.GetBytes(b, "content.0.text").String() },
	},
	{
		name: "gemini",
		request: func(base, key string, stream bool) *http.Request {
			action := "generateContent"
			if stream {
				action = "streamGenerateContent?alt=sse"
			}
			body := `{"contents":[{"role":"user","parts":[{"text":"say hello"}]}]}`
			r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1beta/models/"+faultModel+":"+action, strings.NewReader(body))
			r.Header.Set("X-Goog-Api-Key", key)
			r.Header.Set("Content-Type", "application/json")
			return r
		},
		errorMessage: func(b []byte) string {
			if !gjson.GetBytes(b, "error.status").Exists() {
				return ""
			}
			return gjson.GetBytes(b, "error.message").String()
		},
		streamError: func(b []byte) bool {
			return bytes.Contains(b, []byte(`data: {"error":{`))
		},
		text: func(b []byte) string { return gjson.GetBytes(b, "candidates.0.content.parts.0.text").String() },
	},
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// faultEnv is an app on the fake upstream with one channel of two accounts, a priced model and a
// user with a balance.
type faultEnv struct {
	env  *apptest.Env
	user *apptest.TestUser
}

func newFaultEnv(t *testing.T, opts ...apptest.Option) *faultEnv {
	t.Helper()
	env := apptest.New(t, opts...)
	env.Channel("faulty", []string{faultModel}, "sk-upstream-fault-aaaa", "sk-upstream-fault-bbbb")
	env.Price(faultModel, 3_000_000, 7_000_000)
	return &faultEnv{env: env, user: env.NewUser("faulty-user", 100_000_000)}
}

// call sends one gateway call and returns its status and whole body.
func (f *faultEnv) call(t *testing.T, c caller, stream bool) (int, []byte) {
	t.Helper()
	res, err := f.env.RawHTTP.Do(c.request(f.env.URL, f.user.Key, stream))
	require.NoError(t, err)
	return res.StatusCode, readAll(t, res)
}

// usageRow is one usage log row of the fault tests' user.
type usageRow struct {
	status int
	quota  int64
}

// usage returns the user's usage log rows by request id, every page, after every queued record
// is written.
func (f *faultEnv) usage(t *testing.T) map[string]usageRow {
	t.Helper()
	f.env.FlushUsage()
	rows := map[string]usageRow{}
	limit := 500
	var cursor *string
	for {
		res, err := f.env.Admin().LogListWithResponse(context.Background(),
			&adminclient.LogListParams{UserId: &f.user.ID, Limit: &limit, Cursor: cursor})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
		for _, l := range res.JSON200.Items {
			rows[l.RequestId] = usageRow{status: l.StatusCode, quota: l.Quota}
		}
		if cursor = wire.Ptr(res.JSON200.NextCursor); cursor == nil {
			return rows
		}
	}
}

// usageRows returns the status of each of the user's usage log rows by request id.
func (f *faultEnv) usageRows(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for id, r := range f.usage(t) {
		out[id] = r.status
	}
	return out
}

// readBody reads a whole answer and closes it.
func readBody(res *http.Response) ([]byte, error) {
	defer res.Body.Close()
	return io.ReadAll(res.Body)
}

// mustRequest is a request with the bearer token (none when empty).
func mustRequest(t *testing.T, method, url, token string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	require.NoError(t, err)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// readAll reads a whole answer; a connection broken mid-answer fails the test.
func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	body, err := readBody(res)
	require.NoError(t, err, "the answer ends cleanly, never with a broken connection")
	return body
}
