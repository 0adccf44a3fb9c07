package fakeupstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestScriptFIFO(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	tb.fake.Enqueue(Reply{Text: "one"}, Reply{Status: http.StatusTooManyRequests})
	tb.fake.Enqueue(Reply{Text: "three", Usage: &Usage{PromptTokens: 10, CompletionTokens: 20, CachedTokens: 4, ReasoningTokens: 5}})
	require.Equal(t, 3, tb.fake.Pending())

	status, _, body := tb.chat(t, testKey, helloBody)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "one", gjson.Get(body, "choices.0.message.content").String())

	status, _, _ = tb.chat(t, "sk-anyone-else", helloBody)
	require.Equal(t, http.StatusTooManyRequests, status, "the global script serves any credential")

	status, _, body = tb.chat(t, testKey, helloBody)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "three", gjson.Get(body, "choices.0.message.content").String())
	u := gjson.Get(body, "usage")
	require.Equal(t, int64(10), u.Get("prompt_tokens").Int())
	require.Equal(t, int64(20), u.Get("completion_tokens").Int())
	require.Equal(t, int64(30), u.Get("total_tokens").Int())
	require.Equal(t, int64(4), u.Get("prompt_tokens_details.cached_tokens").Int())
	require.Equal(t, int64(5), u.Get("completion_tokens_details.reasoning_tokens").Int())

	require.Zero(t, tb.fake.Pending())
	_, _, body = tb.chat(t, testKey, helloBody)
	require.Equal(t, "echo: hello there world", gjson.Get(body, "choices.0.message.content").String(), "echo once drained")

	tb.fake.Enqueue(Reply{OmitUsage: true})
	_, _, body = tb.chat(t, testKey, helloBody)
	require.False(t, gjson.Get(body, "usage").Exists())
}

func TestScriptPerCredential(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	tb.fake.Enqueue(Reply{Text: "global"})
	tb.fake.EnqueueFor("sk-a", Reply{Text: "a1"}, Reply{Text: "a2"})

	text := func(key string) string {
		status, _, body := tb.chat(t, key, helloBody)
		require.Equal(t, http.StatusOK, status)
		return gjson.Get(body, "choices.0.message.content").String()
	}
	require.Equal(t, "a1", text("sk-a"), "own script before the global one")
	require.Equal(t, "global", text("sk-b"))
	require.Equal(t, "echo: hello there world", text("sk-b"))
	require.Equal(t, "a2", text("sk-a"))
	require.Equal(t, "echo: hello there world", text("sk-a"))

	tb.fake.EnqueueFor("sk-a", Reply{Text: "reset me"})
	tb.fake.Enqueue(Reply{Text: "reset me"})
	tb.fake.Reset()
	require.Zero(t, tb.fake.Pending())
	require.Empty(t, tb.fake.Requests())
	require.Equal(t, "echo: hello there world", text("sk-a"))
}

func TestCutAfter(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	for _, tc := range []struct {
		cut, events int
	}{
		{cut: 2, events: 2},
		{cut: 9, events: 4}, // fewer words than CutAfter: cut before the finish chunk
		{cut: -1, events: 0},
	} {
		tb.fake.Enqueue(Reply{CutAfter: tc.cut})
		status, _, s := tb.stream(t, testKey, helloStreamUsed)
		require.Equal(t, http.StatusOK, status)
		require.ErrorIs(t, s.err, io.ErrUnexpectedEOF, "cut %d", tc.cut)
		require.False(t, s.done)
		require.Equal(t, tc.events, s.contentEvents(), "cut %d", tc.cut)
		for _, c := range s.chunks {
			require.Len(t, c["choices"], 1, "neither finish nor usage chunk")
			ch := c["choices"].([]any)[0].(map[string]any)
			require.Nil(t, ch["finish_reason"])
		}
	}

	_, _, s := tb.stream(t, testKey, helloStreamUsed)
	require.NoError(t, s.err, "the server keeps serving after cuts")
	require.True(t, s.done)
}

func TestDrop(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	tb.fake.Enqueue(Reply{Drop: true})
	resp, err := tb.do(t.Context(), t, http.MethodPost, "/chat/completions", testKey, helloBody)
	if resp != nil {
		closeBody(t, resp)
	}
	require.Error(t, err)
	require.Nil(t, resp)

	status, _, _ := tb.chat(t, testKey, helloBody)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, int64(2), tb.fake.Count())
}

func TestDelay(t *testing.T) {
	t.Parallel()
	tb := setup(t)

	const d = 150 * time.Millisecond
	tb.fake.Enqueue(Reply{Delay: d, Status: http.StatusServiceUnavailable})
	start := time.Now()
	status, _, _ := tb.chat(t, testKey, helloBody)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.GreaterOrEqual(t, time.Since(start), d)

	const ed = 20 * time.Millisecond
	tb.fake.Enqueue(Reply{EventDelay: ed})
	start = time.Now()
	_, _, s := tb.stream(t, testKey, helloStream)
	require.True(t, s.done)
	require.GreaterOrEqual(t, time.Since(start), time.Duration(len(s.chunks))*ed, "a delay between each of the events")

	// A client that gives up ends the delay; the server then sends nothing.
	tb.fake.Enqueue(Reply{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	resp, err := tb.do(ctx, t, http.MethodPost, "/chat/completions", testKey, helloBody)
	if resp != nil {
		closeBody(t, resp)
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Second)
}

func TestRecording(t *testing.T) {
	t.Parallel()

	tb := setup(t)
	tb.chat(t, testKey, helloBody)
	resp, err := tb.do(t.Context(), t, http.MethodGet, "/models", "", "")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	reqs := tb.fake.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, Request{
		Method: http.MethodPost, Path: "/v1/chat/completions", Header: reqs[0].Header,
		Body: []byte(helloBody), Credential: testKey,
	}, reqs[0])
	require.Equal(t, "Bearer "+testKey, reqs[0].Header.Get("Authorization"))
	require.Equal(t, "/v1/models", reqs[1].Path)
	require.Empty(t, reqs[1].Credential)
	reqs[0].Body[0] = 'X'
	require.Equal(t, helloBody, string(tb.fake.Requests()[0].Body), "Requests returns copies")

	ring := setup(t, WithRecording(3))
	for i := range 5 {
		ring.chat(t, fmt.Sprintf("sk-%d", i), helloBody)
	}
	reqs = ring.fake.Requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		require.Equal(t, fmt.Sprintf("sk-%d", i+2), r.Credential, "the most recent, oldest first")
	}

	off := setup(t, WithoutRecording())
	off.chat(t, testKey, helloBody)
	require.Empty(t, off.fake.Requests())
	require.Equal(t, int64(1), off.fake.Count())
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	tb := setup(t, WithRecording(16))
	tb.client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	const workers, each = 32, 20
	for w := range workers {
		tb.fake.EnqueueFor(fmt.Sprintf("sk-%d", w), Reply{Text: "mine"})
	}
	tb.fake.Enqueue(Reply{Status: http.StatusTooManyRequests}, Reply{Status: http.StatusTooManyRequests})

	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	var mu sync.Mutex
	limited, mine := 0, 0
	for w := range workers {
		wg.Go(func() {
			key := fmt.Sprintf("sk-%d", w)
			body := helloBody
			if w%2 == 1 {
				body = helloStreamUsed
			}
			for range each {
				resp, err := tb.do(context.Background(), t, http.MethodPost, "/chat/completions", key, body)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				switch {
				case resp.StatusCode == http.StatusTooManyRequests:
					limited++
				case resp.StatusCode != http.StatusOK:
					errs <- errors.New(string(b))
				case bytes.Contains(b, []byte(`"content":"mine"`)):
					mine++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 2, limited)
	require.Equal(t, workers, mine)
	require.Zero(t, tb.fake.Pending())
	require.Equal(t, int64(workers*each), tb.fake.Count())
	require.Len(t, tb.fake.Requests(), 16)
}
