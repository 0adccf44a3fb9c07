package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Modes.
const (
	modeNormal = "normal"
	modeStream = "stream"
)

// maxSamples bounds the latencies kept per worker and scenario.
const maxSamples = 1 << 20

// target is a server under load.
type target struct {
	name string
	proc int    // pid, for /proc
	url  string // chat completions URL (Claude targets: the messages URL)
	key  string // bearer credential (Claude targets: x-api-key)
	// claude marks a Claude inbound (/v1/messages, x-api-key, anthropic-version): its streams end
	// with message_stop instead of [DONE].
	claude bool
	// debugAddr serves the target's runtime profiles (Poolgate with -profile); empty: none.
	debugAddr string

	responded atomic.Int64 // answers with any HTTP status, warm-ups included
	ok        atomic.Int64 // 200 answers read complete

	mu       sync.Mutex
	statuses map[string]int64 // answers other than 200, by "status (target)", warm-ups included
	partial  int64            // 200 answers that were not complete, warm-ups included
}

// note records an answer that was not a complete 200.
func (t *target) note(status int, partial bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if partial {
		t.partial++
		return
	}
	if t.statuses == nil {
		t.statuses = map[string]int64{}
	}
	t.statuses[strconv.Itoa(status)+" ("+t.name+")"]++
}

// counts is what a target answered over the whole run.
type counts struct {
	responded, ok int64
	statuses      map[string]int64 // answers other than 200, by "status (target)"
	partial       int64            // incomplete 200s
}

func (t *target) counts() counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return counts{responded: t.responded.Load(), ok: t.ok.Load(), statuses: maps.Clone(t.statuses), partial: t.partial}
}

// add adds o's counts to c.
func (c *counts) add(o counts) {
	c.responded += o.responded
	c.ok += o.ok
	c.partial += o.partial
	for k, v := range o.statuses {
		if c.statuses == nil {
			c.statuses = map[string]int64{}
		}
		c.statuses[k] += v
	}
}

// scenario is one load level against one target.
type scenario struct {
	target      *target
	mode        string
	concurrency int
	body        []byte
	events      int // data events a complete stream carries, [DONE] included
	profileDir  string
}

// result holds a scenario's figures.
type result struct {
	target, mode string
	concurrency  int
	requests     int64 // complete 200 answers in the measured window
	errors       int64 // transport errors and non-200 answers
	incomplete   int64 // 200 answers cut short or malformed (streams: missing events or [DONE])
	elapsed      time.Duration
	p50, p99     time.Duration
	cpu          time.Duration   // target CPU over the measured window; -1 when unreadable
	syscalls     int64           // target read+write system calls over the measured window; -1 when unreadable
	rssPeak      int64           // largest VmRSS sampled during warm-up and measurement
	lat          []time.Duration // the measured latencies, sorted (for merging rounds)
	rounds       []perRound      // each round's own CPU and requests
	machine      machineSample   // the whole machine over the measured window (load generator, services)
}

// perRound is one round's share of a result.
type perRound struct {
	cpu      time.Duration
	requests int64
}

// merge adds another round of the same scenario to r.
func (r *result) merge(o result) {
	r.requests += o.requests
	r.errors += o.errors
	r.incomplete += o.incomplete
	r.elapsed += o.elapsed
	if r.cpu >= 0 && o.cpu >= 0 {
		r.cpu += o.cpu
	} else {
		r.cpu = -1
	}
	if r.syscalls >= 0 && o.syscalls >= 0 {
		r.syscalls += o.syscalls
	} else {
		r.syscalls = -1
	}
	r.rssPeak = max(r.rssPeak, o.rssPeak)
	r.machine.busy += o.machine.busy
	r.machine.idle += o.machine.idle
	r.machine.self += o.machine.self
	r.machine.redis += o.machine.redis
	r.machine.postgres += o.machine.postgres
	r.lat = append(r.lat, o.lat...)
	r.rounds = append(r.rounds, o.rounds...)
	slices.Sort(r.lat)
	r.p50, r.p99 = percentile(r.lat, 0.50), percentile(r.lat, 0.99)
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// cpuPerReq is the target's CPU time per complete request.
func (r result) cpuPerReq() time.Duration {
	if r.requests == 0 || r.cpu < 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

// syscallsPerReq is the target's read and write system calls per complete request.
func (r result) syscallsPerReq() float64 {
	if r.requests == 0 || r.syscalls < 0 {
		return 0
	}
	return float64(r.syscalls) / float64(r.requests)
}

// worker is one concurrency slot's state.
type worker struct {
	lat        []time.Duration
	errors     int64
	incomplete int64
	br         *bufio.Reader
	buf        bytes.Buffer
}

// run warms up, then measures for d, sampling the target's CPU and memory.
func (s scenario) run(ctx context.Context, warmup, d time.Duration) result {
	tr := tunedTransport(s.concurrency)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	rss := sampleRSS(s.target.proc, 100*time.Millisecond)
	if warmup > 0 {
		s.load(ctx, client, warmup, false)
	}
	cpu0, sys0 := readCPU(s.target.proc), readSyscalls(s.target.proc)
	m0 := sampleMachine()
	start := time.Now()
	prof := s.profile(ctx, d)
	ws := s.load(ctx, client, d, true)
	elapsed := time.Since(start)
	<-prof
	cpu1, sys1 := readCPU(s.target.proc), readSyscalls(s.target.proc)
	r := result{target: s.target.name, mode: s.mode, concurrency: s.concurrency, elapsed: elapsed,
		cpu: cpu1 - cpu0, syscalls: sys1 - sys0, rssPeak: rss.stop(s.target.proc), machine: sampleMachine().sub(m0)}
	if cpu0 < 0 || cpu1 < 0 {
		r.cpu = -1
	}
	if sys0 < 0 || sys1 < 0 {
		r.syscalls = -1
	}
	var all []time.Duration
	for _, w := range ws {
		all = append(all, w.lat...)
		r.errors += w.errors
		r.incomplete += w.incomplete
	}
	r.requests = int64(len(all))
	slices.Sort(all)
	r.p50, r.p99 = percentile(all, 0.50), percentile(all, 0.99)
	r.lat = all
	r.rounds = []perRound{{cpu: r.cpu, requests: r.requests}}
	return r
}

// load runs one goroutine per concurrency slot, each sending requests back to back until d has
// passed; a request under way at the deadline is finished, not abandoned.
func (s scenario) load(ctx context.Context, client *http.Client, d time.Duration, record bool) []*worker {
	deadline := time.Now().Add(d)
	ws := make([]*worker, s.concurrency)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{br: bufio.NewReaderSize(nil, 16<<10)}
		if record {
			w.lat = make([]time.Duration, 0, 1024)
		}
		ws[i] = w
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				ok := s.once(ctx, client, w)
				if record && ok && len(w.lat) < maxSamples {
					w.lat = append(w.lat, time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	return ws
}

// once sends one request and reads the whole answer; it reports whether it was complete.
func (s scenario) once(ctx context.Context, client *http.Client, w *worker) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.target.url, bytes.NewReader(s.body))
	if err != nil {
		w.errors++
		return false
	}
	setAuth(req, s.target)
	res, err := client.Do(req)
	if err != nil {
		w.errors++
		return false
	}
	defer res.Body.Close()
	s.target.responded.Add(1)
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, res.Body)
		w.errors++
		s.target.note(res.StatusCode, false)
		return false
	}
	var complete bool
	if s.mode == modeStream {
		w.br.Reset(res.Body)
		n, done, err := countEvents(w.br, s.target.claude)
		complete = err == nil && done && n == s.events
	} else {
		w.buf.Reset()
		_, err := w.buf.ReadFrom(res.Body)
		complete = err == nil && bytes.Contains(w.buf.Bytes(), []byte(`"usage"`))
	}
	if !complete {
		w.incomplete++
		s.target.note(http.StatusOK, true)
		return false
	}
	s.target.ok.Add(1)
	return true
}

// setAuth sets the credential and content headers of the target's protocol.
func setAuth(req *http.Request, t *target) {
	if t.claude {
		req.Header.Set("X-Api-Key", t.key)
		req.Header.Set("Anthropic-Version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	req.Header.Set("Content-Type", "application/json")
}

// countEvents reads an SSE body to its end and counts its data events; done reports whether the
// last one was [DONE] (Claude streams: a message_stop event).
func countEvents(br *bufio.Reader, claude bool) (n int, done bool, err error) {
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			n++
			if claude {
				done = bytes.Contains(line, []byte(`"type":"message_stop"`))
			} else {
				done = bytes.Equal(bytes.TrimSpace(line[5:]), []byte("[DONE]"))
			}
		}
		for errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer: skip its rest
			_, err = br.ReadSlice('\n')
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, done, nil
			}
			return n, done, err
		}
	}
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// requestBodies returns the chat completion bodies of both modes, with a user message of words
// words (the fake upstream echoes it, one stream event per word).
func requestBodies(words int) map[string][]byte {
	return chatBodies(benchModel, userMessage(words))
}

// claudeBodies returns the Claude messages bodies of both modes, the same conversation as
// requestBodies.
func claudeBodies(words int) map[string][]byte {
	return messagesBodies(benchModel, userMessage(words))
}

// messagesBodies builds Claude messages bodies (normal and stream) for model and message.
func messagesBodies(model, msg string) map[string][]byte {
	m, _ := json.Marshal(msg)
	base := `{"model":"` + model + `","max_tokens":1024,"system":"be terse","messages":[{"role":"user","content":` + string(m) + `}]`
	return map[string][]byte{
		modeNormal: []byte(base + `}`),
		modeStream: []byte(base + `,"stream":true}`),
	}
}

// chatBodies builds chat completion bodies (normal and stream) for model and message.
func chatBodies(model, msg string) map[string][]byte {
	m, _ := json.Marshal(msg)
	base := `{"model":"` + model + `","messages":[{"role":"system","content":"be terse"},{"role":"user","content":` + string(m) + `}]`
	return map[string][]byte{
		modeNormal: []byte(base + `}`),
		modeStream: []byte(base + `,"stream":true}`),
	}
}

// userMessage is a user message of words words.
func userMessage(words int) string {
	vocab := strings.Fields("the quick brown fox jumps over a lazy dog while benchmarks run")
	parts := make([]string, words)
	for i := range parts {
		parts[i] = vocab[i%len(vocab)]
	}
	return strings.Join(parts, " ")
}

// calibrate counts the data events of one stream from t (for the OpenAI targets: straight from
// the fake upstream): every stream through a target of that protocol must carry exactly as many.
func calibrate(ctx context.Context, t *target, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	setAuth(req, t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("fake upstream answered %d", res.StatusCode)
	}
	n, done, err := countEvents(bufio.NewReader(res.Body), t.claude)
	if err != nil {
		return 0, fmt.Errorf("calibration stream: %w", err)
	}
	if !done {
		return 0, fmt.Errorf("calibration stream ended after %d events without its end event", n)
	}
	return n, nil
}

// profile records the target's CPU profile over the next d (whole seconds, at least one) into
// profileDir, when both are set; the returned channel closes when it is written or failed.
func (s scenario) profile(ctx context.Context, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if s.profileDir == "" || s.target.debugAddr == "" {
		close(done)
		return done
	}
	secs := max(1, int(d/time.Second))
	path := filepath.Join(s.profileDir, fmt.Sprintf("%s-%s-c%d.pprof", s.target.name, s.mode, s.concurrency))
	go func() {
		defer close(done)
		if err := fetchProfile(ctx, "http://"+s.target.debugAddr+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), path); err != nil {
			fmt.Fprintf(os.Stderr, "poolbench: profile %s: %v\n", path, err)
		}
	}()
	return done
}

func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	f, err := os.Create(path) //nolint:gosec // the operator's -profile directory
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// cpuRatioMedian is the median over rounds of t's CPU per request divided by g's in the same
// round (the targets take turns round by round), and the number of rounds compared; a round that
// falls on a burst of background load moves the median much less than it moves the totals.
func cpuRatioMedian(t, g result) (float64, int) {
	var xs []float64
	for i := range min(len(t.rounds), len(g.rounds)) {
		a, b := t.rounds[i], g.rounds[i]
		if a.requests == 0 || b.requests == 0 || a.cpu <= 0 || b.cpu <= 0 {
			continue
		}
		xs = append(xs, (float64(a.cpu)/float64(a.requests))/(float64(b.cpu)/float64(b.requests)))
	}
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2], n
	}
	return (xs[n/2-1] + xs[n/2]) / 2, n
}
