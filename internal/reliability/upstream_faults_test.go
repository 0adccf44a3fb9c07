package reliability_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/relay"
)

// shortUpstreamBounds makes the upstream bounds short enough to trip in a test: headers within
// 2 s, then no silence longer than 2 s. (At 400 ms, a trickled answer — a byte per millisecond —
// was cut on a loaded CI machine: the bounds must stay well above the scheduling delays of a
// machine running every package's tests at once.)
func shortUpstreamBounds() apptest.Option {
	return apptest.WithConfig(func(c *config.Config) {
		c.UpstreamTimeout = 2 * time.Second
		c.UpstreamIdleTimeout = 2 * time.Second
	})
}

// okAnswer is a complete OpenAI chat completion with usage.
const okAnswer = `{"id":"chatcmpl-trickle","object":"chat.completion","created":1,"model":"gpt-4o-mini",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"slow but whole"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}`

// TestUpstreamFaults scripts each way an upstream can misbehave and calls it in each protocol:
// before the first byte reaches the caller Poolgate fails over to the other account; after it,
// the caller's answer ends with its protocol's error (a clean error event, never a broken
// connection or a silent success). Every call leaves exactly one usage row.
func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	type outcome int
	const (
		answered    outcome = iota // 200 with the second account's (or the trickled) answer
		errorAnswer                // a 5xx in the protocol's error shape
		errorEvent                 // 200, then the stream ends with the protocol's error event
	)
	cases := []struct {
		name    string
		stream  bool
		replies []fakeupstream.Reply
		want    outcome
		// cancelled: the upstream saw its call cancelled (Poolgate gave up on it).
		cancelled bool
	}{
		{name: "hang before headers fails over", replies: []fakeupstream.Reply{{Delay: time.Minute}, {Text: "second"}},
			want: answered, cancelled: true},
		{name: "hang before headers fails over (stream)", stream: true,
			replies: []fakeupstream.Reply{{Delay: time.Minute}, {Text: "second"}}, want: answered, cancelled: true},
		{name: "dropped connection fails over", replies: []fakeupstream.Reply{{Drop: true}, {Text: "second"}}, want: answered},
		{name: "trickled answer arrives whole", replies: []fakeupstream.Reply{{Raw: okAnswer, Trickle: time.Millisecond}}, want: answered},
		{name: "stall after headers", replies: []fakeupstream.Reply{{Raw: `{"id":"chatcmpl-x","object":`, Stall: true}},
			want: errorAnswer, cancelled: true},
		{name: "stall mid-stream", stream: true, replies: []fakeupstream.Reply{{Stall: true,
			Raw: "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"half\"},\"finish_reason\":null}]}\n\n"}},
			want: errorEvent, cancelled: true},
		{name: "garbage answer", replies: []fakeupstream.Reply{{Raw: "<html><body>502 Bad Gateway</body></html>",
			Header: map[string]string{"Content-Type": "text/html"}}}, want: errorAnswer},
		{name: "garbage stream", stream: true, replies: []fakeupstream.Reply{{Raw: "data: {not json at all\n\ngarbage\n\n"}},
			want: errorEvent},
		{name: "closed mid-stream", stream: true, replies: []fakeupstream.Reply{{Text: "one two three four five", CutAfter: 2}},
			want: errorEvent},
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultEnv(t, shortUpstreamBounds())
			want := map[string]int{}
			for _, tc := range cases {
				before := f.env.Upstream.Cancelled()
				f.env.Upstream.Enqueue(tc.replies...)
				res, err := f.env.RawHTTP.Do(c.request(f.env.URL, f.user.Key, tc.stream))
				require.NoError(t, err, tc.name)
				body := readAll(t, res)
				switch tc.want {
				case answered:
					require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", tc.name, body)
					if tc.stream {
						require.False(t, c.streamError(body), "%s: %s", tc.name, body)
						require.Contains(t, string(body), "second", tc.name)
					} else {
						require.NotEmpty(t, c.text(body), "%s: %s", tc.name, body)
					}
					want[res.Header.Get("X-Request-Id")] = http.StatusOK
				case errorAnswer:
					require.Equal(t, http.StatusBadGateway, res.StatusCode, "%s: %s", tc.name, body)
					require.Contains(t, c.errorMessage(body), "upstream", "%s: the error is in %s's shape: %s", tc.name, c.name, body)
					want[res.Header.Get("X-Request-Id")] = http.StatusBadGateway
				case errorEvent:
					require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", tc.name, body)
					require.True(t, c.streamError(body), "%s: the stream ends with %s's error event: %s", tc.name, c.name, body)
					want[res.Header.Get("X-Request-Id")] = http.StatusBadGateway
				}
				require.Zero(t, f.env.Upstream.Pending(), "%s: every scripted reply was used", tc.name)
				if tc.cancelled {
					require.Eventually(t, func() bool { return f.env.Upstream.Cancelled() > before }, 10*time.Second, 5*time.Millisecond,
						"%s: the upstream call was cancelled", tc.name)
				}
			}
			require.Equal(t, want, f.usageRows(t), "one usage row per call, with the status the caller got")
		})
	}
}

// TestClientGoesAway starts a long stream in each protocol, reads its first events and hangs up:
// the upstream call is cancelled (the fake upstream sees its caller go), and the call is logged
// as 499 and charged for what was generated, per the metering policy.
func TestClientGoesAway(t *testing.T) {
	t.Parallel()
	f := newFaultEnv(t)
	words := strings.Repeat("word ", 2000)
	want := map[string]int{}
	for _, c := range callers {
		before := f.env.Upstream.Cancelled()
		f.env.Upstream.Enqueue(fakeupstream.Reply{Text: words, EventDelay: 5 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		res, err := f.env.RawHTTP.Do(c.request(f.env.URL, f.user.Key, true).WithContext(ctx))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, c.name)
		sc := bufio.NewScanner(res.Body)
		for n := 0; n < 10 && sc.Scan(); {
			if strings.HasPrefix(sc.Text(), "data:") {
				n++
			}
		}
		cancel()
		_ = res.Body.Close()
		require.Eventually(t, func() bool { return f.env.Upstream.Cancelled() > before }, 30*time.Second, 5*time.Millisecond,
			"%s: the upstream call was cancelled", c.name)
		want[res.Header.Get("X-Request-Id")] = relay.StatusClientClosed
	}
	rows := f.usage(t)
	for id, status := range want {
		require.Equal(t, status, rows[id].status, "the call is logged as ended by its caller")
		require.Positive(t, rows[id].quota, "what was generated is charged")
	}
}
