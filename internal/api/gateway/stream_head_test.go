package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
)

// TestStreamHeadersDoNotWaitForTheFirstEvent: a stream's headers reach the caller as soon as the
// upstream's have, while its first event is still to come (a slow first token), for a relayed
// and a translated stream; they travel with the first events when the upstream sent them
// together (the rest of the suite's streams).
func TestStreamHeadersDoNotWaitForTheFirstEvent(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	ctx := context.Background()
	release := make(chan struct{}, 1) // one first event let through per send
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // the headers alone
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		for _, ev := range []string{
			`{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"m-slow","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			`{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"m-slow","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`,
			`{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"m-slow","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"m-slow","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
			`[DONE]`,
		} {
			_, _ = io.WriteString(w, "data: "+ev+"\n\n")
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) }) // before up.Close: a held handler goes on
	ch, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{Name: "slow", Type: adminclient.Openai,
		BaseUrl: up.URL, Models: []string{"m-slow"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
	a, err := env.Admin().AccountCreateWithResponse(ctx, ch.JSON201.Id, adminclient.AccountCreate{Credential: "sk-slow-account-0001"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.StatusCode(), string(a.Body))
	env.Price("m-slow", inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)

	for _, c := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"model":"m-slow","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"content":"hi"`},
		{"/v1/messages", `{"model":"m-slow","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"text":"hi"`},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+c.path, strings.NewReader(c.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+u.Key)
		req.Header.Set("Content-Type", "application/json")
		type result struct {
			resp *http.Response
			err  error
		}
		got := make(chan result, 1)
		go func() {
			resp, err := env.HTTP.Do(req) //nolint:bodyclose // closed below
			got <- result{resp, err}
		}()
		var res result
		select {
		case res = <-got: // the headers, while the upstream holds the first event
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the stream's headers waited for its first event", c.path)
		}
		require.NoError(t, res.err)
		require.Equal(t, http.StatusOK, res.resp.StatusCode, c.path)
		require.Equal(t, "text/event-stream", res.resp.Header.Get("Content-Type"), c.path)
		release <- struct{}{}
		body, err := io.ReadAll(bufio.NewReader(res.resp.Body))
		require.NoError(t, err)
		require.NoError(t, res.resp.Body.Close())
		require.Contains(t, string(body), c.want, c.path)
	}
}
