package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// benchModel is the model the benchmarks call (priced, so the balance check and metering run).
const benchModel = "gpt-4o-mini"

// BenchmarkFullPath drives the whole gateway path in process: the app's echo handler (request
// id, access log, API key auth from the cache, balance check, account selection, relay to a fake
// upstream over loopback HTTP, usage metering through the batched recorder into PostgreSQL). The
// inbound side skips the network and the answer goes to a discarding writer, so a CPU profile of
// this benchmark shows the gateway's own costs:
//
//	go test -run '^$' -bench FullPath -benchtime 20000x -cpuprofile cpu.out ./internal/api/gateway/
//	go tool pprof -top -cum -focus 'Echo..ServeHTTP' gateway.test cpu.out
//
// BenchmarkBareProxy is the same load through a bare httputil.ReverseProxy, for comparison.
func BenchmarkFullPath(b *testing.B) { benchFullPath(b) }

// BenchmarkFullPathWithoutJournal is BenchmarkFullPath with the usage journal off: the
// difference is the journal's cost on the hot path (on Linux a copy into a mapped segment).
func BenchmarkFullPathWithoutJournal(b *testing.B) {
	benchFullPath(b, apptest.WithConfig(func(c *config.Config) { c.UsageJournalDir = "" }))
}

// BenchmarkFullPathNetHTTP is BenchmarkFullPath with net/http's client on the upstream leg
// (UPSTREAM_CLIENT=net/http): the difference is what the lean client saves.
func BenchmarkFullPathNetHTTP(b *testing.B) {
	benchFullPath(b, apptest.WithConfig(func(c *config.Config) { c.UpstreamClient = "net/http" }))
}

func benchFullPath(b *testing.B, opts ...apptest.Option) {
	env := apptest.New(b, opts...)
	up := httptest.NewServer(fakeupstream.New(fakeupstream.WithoutRecording()))
	b.Cleanup(up.Close)
	env.UpstreamURL = up.URL + "/v1" // the channel points at this recording-free upstream
	env.Channel("bench", []string{benchModel}, "sk-upstream-bench-0001")
	env.Price(benchModel, 1_000_000, 2_000_000)
	env.SharedQuota(1_000_000_000) // the benchmark measures the gateway, not the default cap per user
	user := env.NewUser("bench", 1_000_000_000_000)
	runBench(b, env.App.Echo, user.Key)
	b.StopTimer()
	env.FlushUsage()
}

// BenchmarkBareProxy is the baseline: an httputil.ReverseProxy with pooled copy buffers and a
// tuned transport, reading the request body first, in front of the same fake upstream.
func BenchmarkBareProxy(b *testing.B) {
	up := httptest.NewServer(fakeupstream.New(fakeupstream.WithoutRecording()))
	b.Cleanup(up.Close)
	target, err := url.Parse(up.URL)
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	bufs := sync.Pool{New: func() any { return make([]byte, 32<<10) }}
	rp := &httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:  tr,
		BufferPool: poolOf{&bufs},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		rp.ServeHTTP(w, r)
	})
	runBench(b, h, "sk-bench-bare-proxy")
}

// runBench sends chat completions, normal and streamed, through h from parallel goroutines and
// checks every answer is complete.
func runBench(b *testing.B, h http.Handler, key string) {
	const msgs = `"messages":[{"role":"system","content":"be terse"},` +
		`{"role":"user","content":"the quick brown fox jumps over a lazy dog"}]`
	for _, bc := range []struct {
		name   string
		body   string
		suffix []byte // a complete answer ends with it
	}{
		{"normal", `{"model":"` + benchModel + `",` + msgs + `}`, []byte("}")},
		{"stream", `{"model":"` + benchModel + `",` + msgs + `,"stream":true}`, []byte("data: [DONE]")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := []byte(bc.body)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &sinkWriter{h: http.Header{}}
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Content-Type", "application/json")
					w.reset()
					h.ServeHTTP(w, req)
					if w.code != http.StatusOK || !bytes.HasSuffix(bytes.TrimSpace(w.tail), bc.suffix) {
						b.Errorf("status %d, answer ends %q", w.code, w.tail)
						return
					}
				}
			})
		})
	}
}

// poolOf adapts a sync.Pool of []byte to httputil.BufferPool.
type poolOf struct{ p *sync.Pool }

func (p poolOf) Get() []byte { return p.p.Get().([]byte) } //nolint:forcetypeassert // only []byte is stored

func (p poolOf) Put(b []byte) { p.p.Put(b) } //nolint:staticcheck // a slice header per Put is fine here

// sinkWriter is a reusable http.ResponseWriter that discards the body but its last bytes, so the
// profile shows the gateway's costs rather than a recorder's buffer growth.
type sinkWriter struct {
	h    http.Header
	code int
	tail []byte
}

func (w *sinkWriter) reset() {
	clear(w.h)
	w.code, w.tail = 0, w.tail[:0]
}

func (w *sinkWriter) Header() http.Header { return w.h }

func (w *sinkWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *sinkWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	const keep = 64
	w.tail = append(w.tail, p...)
	if len(w.tail) > keep {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-keep:]...)
	}
	return len(p), nil
}

// Flush makes the writer an http.Flusher, as streaming needs.
func (w *sinkWriter) Flush() {}
