package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// Stream measurement settings.
const (
	targetClaude = "poolgate-claude" // Claude inbound translated to the OpenAI channel
	slowModel    = "gpt-4o-slow"     // model of the channel on the in-process, time-stamping upstream

	delayEventGap = 10 * time.Millisecond // upstream pause between events in the delay measurement
	delayWords    = 40                    // content events per stream in the delay measurement
	delayStreams  = 32                    // concurrent streams in the delay measurement
	delayRounds   = 6                     // rounds of delayStreams streams per path
	heldWords     = 5                     // content events per stream in the memory measurement
	heldEventRate = 5000                  // events a second over all held streams once released, at most
	heldOpening   = 256                   // held streams waiting for their first event at a time, at most
	heldWait      = 5 * time.Minute       // bound on the wait for every held stream to open
)

// tokenRE matches the unique words the time-stamping upstream streams.
var tokenRE = regexp.MustCompile(`q[0-9]{7}`)

// stampUpstream is the fake upstream served in this process, so that the moment each event
// leaves it and the moment the client reads it are taken on one clock. Every answer is scripted
// with unique words; the time each word's event was flushed to the socket is recorded.
type stampUpstream struct {
	fake *fakeupstream.Server
	srv  *http.Server
	url  string
	next atomic.Int64
	// The same upstream over TLS with HTTP/2, for the open-streams measurement.
	tlsSrv   *http.Server
	tlsURL   string
	certFile string
	dir      string

	mu   sync.Mutex
	sent map[string]time.Time
	gate chan struct{} // not nil: TLS answers wait here after their first event
}

// hold makes the TLS listener's answers wait on gate after their first event (nil: no wait).
func (u *stampUpstream) hold(gate chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gate = gate
}

// startStampUpstream serves the time-stamping upstream on a loopback port, plain HTTP/1.1, and
// on a second one over TLS with HTTP/2 (serveTLS).
func startStampUpstream() (*stampUpstream, error) {
	dir, err := os.MkdirTemp("", "poolbench-tls-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	u := &stampUpstream{fake: fakeupstream.New(fakeupstream.WithoutRecording()), url: "http://" + ln.Addr().String(), sent: map[string]time.Time{}, dir: dir}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.fake.ServeHTTP(&stampWriter{ResponseWriter: w, u: u}, r)
	})
	u.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: h}
	go func() { _ = u.srv.Serve(ln) }()
	held := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		gate := u.gate
		u.mu.Unlock()
		u.fake.ServeHTTP(&stampWriter{ResponseWriter: w, u: u, gate: gate, done: r.Context().Done()}, r)
	})
	if u.tlsSrv, u.tlsURL, u.certFile, err = serveTLS(dir, held); err != nil {
		u.close()
		return nil, err
	}
	return u, nil
}

// close stops the servers and removes the certificate.
func (u *stampUpstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = u.srv.Shutdown(ctx)
	if u.tlsSrv != nil {
		_ = u.tlsSrv.Shutdown(ctx)
	}
	_ = os.RemoveAll(u.dir)
}

// script queues one answer of words unique words, gap apart.
func (u *stampUpstream) script(words int, gap time.Duration) {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = "q" + fmt.Sprintf("%07d", u.next.Add(1))
	}
	u.fake.Enqueue(fakeupstream.Reply{Text: strings.Join(parts, " "), EventDelay: gap})
}

// sentAt returns when the event carrying token was flushed.
func (u *stampUpstream) sentAt(token string) (time.Time, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t, ok := u.sent[token]
	return t, ok
}

// stampWriter records, at each flush, the time of the tokens written since the previous one.
type stampWriter struct {
	http.ResponseWriter
	u       *stampUpstream
	pending []byte
	// gate, when not nil, is waited on before every flush but the first (the request's done
	// ends the wait): the caller holds one event until the gate opens.
	gate    chan struct{}
	done    <-chan struct{}
	flushed bool
}

func (w *stampWriter) Write(b []byte) (int, error) {
	w.pending = append(w.pending, b...)
	return w.ResponseWriter.Write(b)
}

// Flush flushes, then stamps the tokens written since the previous flush.
func (w *stampWriter) Flush() {
	if w.gate != nil && w.flushed {
		select {
		case <-w.gate:
		case <-w.done:
		}
		w.gate = nil
	}
	w.flushed = true
	_ = http.NewResponseController(w.ResponseWriter).Flush()
	now := time.Now()
	toks := tokenRE.FindAll(w.pending, -1)
	w.pending = w.pending[:0]
	if len(toks) == 0 {
		return
	}
	w.u.mu.Lock()
	for _, t := range toks {
		w.u.sent[string(t)] = now
	}
	w.u.mu.Unlock()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *stampWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// delayFigures are the per-event forwarding delays of one path.
type delayFigures struct {
	path          string
	samples       int
	p50, p99, max time.Duration
	incomplete    int
	// cold is the largest delay of the warm-up stream (not counted above): the first translated
	// stream of a process also loads the offline tokenizer for Claude's message_start.
	cold time.Duration
}

// streamFigures are the results of the stream measurements.
type streamFigures struct {
	delays []delayFigures
	// inGateway holds, by path name, Poolgate's own forwarding delays over the delay measurement.
	inGateway map[string]histFigures
	// Memory with open streams, on a fresh Poolgate process.
	open, wanted, memWords int
	opening                time.Duration // time until every held stream was open (or heldWait)
	idleRSS, peakRSS, hwm  int64
	heldRSS                int64 // RSS with every stream open and held
	memIncomplete          int
	memFailure             string // the last failure's reason, when any
	answered, complete     int64  // calls Poolgate answered in these measurements, for metering
	eventGap               time.Duration
}

// measureStreams measures the per-event forwarding delay (direct, same-protocol, translated) and
// the memory of a fresh Poolgate process holding cfg.openStreams translated streams open.
func measureStreams(ctx context.Context, cfg config, pg *poolgateProc, kids *children, u *stampUpstream) (*streamFigures, error) {
	// Once released, the held streams together carry at most heldEventRate events a second (a
	// 2-core machine forwards a few times that at full load).
	gap := max(cfg.eventDelay, time.Duration(cfg.openStreams)*time.Second/heldEventRate)
	f := &streamFigures{wanted: cfg.openStreams, eventGap: gap, memWords: heldWords}
	direct := &target{name: "direct (no gateway)", url: u.url + "/v1/chat/completions", key: "sk-bench-direct"}
	same := &target{name: "poolgate openai→openai", url: pg.child.url + "/v1/chat/completions", key: pg.apiKey}
	tr := &target{name: "poolgate claude→openai", url: pg.child.url + "/v1/messages", key: pg.apiKey, claude: true}
	chat, msgs := chatBodies(slowModel, "hi")[modeStream], messagesBodies(slowModel, "hi")[modeStream]
	paths := []*delayPath{
		{t: direct, body: chat, d: delayFigures{path: direct.name}},
		{t: same, body: chat, d: delayFigures{path: same.name}},
		{t: tr, body: msgs, d: delayFigures{path: tr.name}},
	}
	before, err := fetchForwarding(ctx, pg.child.debugAddr)
	if err != nil {
		return nil, err
	}
	if err := measureDelays(ctx, u, paths); err != nil {
		return nil, err
	}
	after, err := fetchForwarding(ctx, pg.child.debugAddr)
	if err != nil {
		return nil, err
	}
	f.inGateway = map[string]histFigures{
		same.name: histDelta(before.Relayed, after.Relayed),
		tr.name:   histDelta(before.Translated, after.Translated),
	}
	for _, p := range paths {
		if p.t != direct {
			f.answered += int64(p.calls)
			f.complete += int64(p.calls - p.d.incomplete)
		}
		f.delays = append(f.delays, p.d)
	}

	// Memory: a fresh process, so that its RSS is not what earlier scenarios left behind.
	c, err := pg.launch(ctx, kids, "poolgate-streams", filepath.Join(pg.dir, "poolgate-streams.log"))
	if c != nil {
		defer c.stop(15 * time.Second)
	}
	if err != nil {
		return nil, err
	}
	t := &target{name: "poolgate-streams", proc: c.pid, url: c.url + "/v1/messages", key: pg.apiKey, claude: true}
	// The held streams go to the TLS, HTTP/2 listener (serveTLS).
	msgs = messagesBodies(heldModel, "hi")[modeStream]
	// A few calls first, so that the idle figure includes the process's warmed caches and pools.
	for range 4 {
		u.script(3, time.Millisecond)
		n, ok := oneStream(ctx, http.DefaultClient, t, msgs, nil)
		f.answered++
		if ok && n > 0 {
			f.complete++
		}
	}
	time.Sleep(300 * time.Millisecond)
	f.idleRSS = readRSS(c.pid)
	holdStreams(ctx, cfg, u, f, t, msgs)
	f.hwm = readHWM(c.pid)
	return f, nil
}

// forwarding is Poolgate's /debug/forwarding answer (relay.ForwardingStats).
type forwarding struct {
	Relayed    []fwdBucket `json:"relayed"`
	Translated []fwdBucket `json:"translated"`
}

type fwdBucket struct {
	LeMicros int64  `json:"le_us"`
	Count    uint64 `json:"count"`
}

// histFigures summarise the in-gateway forwarding delays of one kind of stream over the delay
// measurement (bucket upper bounds: 10 µs resolution below 1 ms).
type histFigures struct {
	events        uint64
	p50, p99, max time.Duration // -1: beyond the last bounded bucket (100 ms)
}

func fetchForwarding(ctx context.Context, addr string) (forwarding, error) {
	var f forwarding
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/forwarding", nil) //nolint:gosec // the loopback DEBUG_ADDR poolbench gave Poolgate
	if err != nil {
		return f, err
	}
	res, err := http.DefaultClient.Do(req) //nolint:gosec // the loopback DEBUG_ADDR poolbench gave Poolgate
	if err != nil {
		return f, fmt.Errorf("read Poolgate's forwarding delays: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return f, fmt.Errorf("read Poolgate's forwarding delays: status %d", res.StatusCode)
	}
	return f, json.NewDecoder(res.Body).Decode(&f)
}

// histDelta summarises the events counted between two readings of one histogram.
func histDelta(before, after []fwdBucket) histFigures {
	prev := map[int64]uint64{}
	for _, b := range before {
		prev[b.LeMicros] = b.Count
	}
	type bucket struct {
		le int64
		n  uint64
	}
	var bs []bucket
	var h histFigures
	for _, b := range after {
		if n := b.Count - prev[b.LeMicros]; n > 0 {
			bs = append(bs, bucket{b.LeMicros, n})
			h.events += n
		}
	}
	// Bounded buckets in order, the unbounded one (-1) last.
	slices.SortFunc(bs, func(a, b bucket) int {
		switch {
		case a.le == b.le:
			return 0
		case a.le == -1:
			return 1
		case b.le == -1:
			return -1
		}
		return int(a.le - b.le)
	})
	at := func(q float64) time.Duration {
		var seen uint64
		for _, b := range bs {
			seen += b.n
			if float64(seen) >= q*float64(h.events) {
				if b.le < 0 {
					return -1
				}
				return time.Duration(b.le) * time.Microsecond
			}
		}
		return 0
	}
	if h.events > 0 {
		h.p50, h.p99, h.max = at(0.5), at(0.99), at(1)
	}
	return h
}

// delayPath is one path of the delay measurement and what was measured on it.
type delayPath struct {
	t     *target
	body  []byte
	d     delayFigures
	calls int
	all   []time.Duration
}

// measureDelays collects, for every content event, the time from its flush by the upstream to
// its read by the client, on each path: one warm-up stream, then delayRounds rounds of
// delayStreams concurrent streams. The paths take turns round by round, so that each sees the
// same stretches of the machine's background noise; within a round the streams start
// delayEventGap/delayStreams apart, so that their events arrive spread over the gap as
// independent streams' events do, not all in the same instant.
func measureDelays(ctx context.Context, u *stampUpstream, paths []*delayPath) error {
	client := &http.Client{Transport: tunedTransport(delayStreams), Timeout: time.Minute}
	defer client.CloseIdleConnections()
	for _, p := range paths {
		u.script(delayWords, delayEventGap)
		_, ok := oneStreamTokens(ctx, client, p.t, p.body, func(tok string, at time.Time) {
			if sent, ok := u.sentAt(tok); ok {
				p.d.cold = max(p.d.cold, at.Sub(sent))
			}
		}, nil)
		p.calls++
		if !ok {
			p.d.incomplete++
		}
	}
	for range delayRounds {
		for _, p := range paths {
			delayRound(ctx, client, u, p)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	for _, p := range paths {
		if len(p.all) == 0 {
			return fmt.Errorf("%s: no event was matched to its upstream time", p.t.name)
		}
		slices.Sort(p.all)
		p.d.samples, p.d.p50, p.d.p99, p.d.max = len(p.all), percentile(p.all, 0.5), percentile(p.all, 0.99), p.all[len(p.all)-1]
	}
	return nil
}

// delayRound runs delayStreams concurrent streams through p, started delayEventGap/delayStreams
// apart, and adds their events' delays to p.
func delayRound(ctx context.Context, client *http.Client, u *stampUpstream, p *delayPath) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range delayStreams {
		u.script(delayWords, delayEventGap)
		wg.Go(func() {
			time.Sleep(time.Duration(i) * delayEventGap / delayStreams)
			var lat []time.Duration
			_, ok := oneStreamTokens(ctx, client, p.t, p.body, func(tok string, at time.Time) {
				if sent, ok := u.sentAt(tok); ok {
					lat = append(lat, at.Sub(sent))
				}
			}, nil)
			mu.Lock()
			defer mu.Unlock()
			p.all = append(p.all, lat...)
			if !ok {
				p.d.incomplete++
			}
		})
	}
	wg.Wait()
	p.calls += delayStreams
}

// oneStream sends one streamed request and reads it to the end, calling onEvent (when not nil)
// at each data event; it reports the events read and whether the stream was complete.
func oneStream(ctx context.Context, client *http.Client, t *target, body []byte, onEvent func()) (int, bool) {
	return oneStreamTokens(ctx, client, t, body, nil, onEvent)
}

// oneStreamTokens is oneStream that also calls onToken with each unique word read and the time
// its line was read.
func oneStreamTokens(ctx context.Context, client *http.Client, t *target, body []byte, onToken func(string, time.Time), onEvent func()) (int, bool) {
	n, err := streamTokens(ctx, client, t, body, onToken, onEvent)
	return n, err == nil
}

// errIncomplete is a stream that ended without its end event.
var errIncomplete = errors.New("stream ended without its end event")

// streamTokens is oneStreamTokens that says why a stream was not complete.
func streamTokens(ctx context.Context, client *http.Client, t *target, body []byte, onToken func(string, time.Time), onEvent func()) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	setAuth(req, t)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", res.StatusCode)
	}
	br := bufio.NewReaderSize(res.Body, 16<<10)
	n, done := 0, false
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			at := time.Now()
			n++
			if onEvent != nil {
				onEvent()
			}
			if onToken != nil {
				for _, tok := range tokenRE.FindAll(line, -1) {
					onToken(string(tok), at)
				}
			}
			if t.claude {
				done = bytes.Contains(line, []byte(`"type":"message_stop"`))
			} else {
				done = bytes.Equal(bytes.TrimSpace(line[5:]), []byte("[DONE]"))
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return n, err
			}
			if !done {
				return n, errIncomplete
			}
			return n, nil
		}
	}
}

// readRSS returns the process's current VmRSS in bytes, -1 when unreadable.
func readRSS(pid int) int64 { return readStatus(pid, "VmRSS") }

// fmtDur formats d in milliseconds.
func fmtDur(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) + " ms" }

// holdStreams opens cfg.openStreams streams through t (at most heldOpening awaiting their first
// event at a time, as callers arriving over a few seconds would), holds them all open at the
// upstream after their first event until every one is open (or heldWait passes), measures the
// process's RSS while they are held, then releases them and reads each to its end.
func holdStreams(ctx context.Context, cfg config, u *stampUpstream, f *streamFigures, t *target, body []byte) {
	gate := make(chan struct{})
	u.hold(gate)
	defer u.hold(nil)
	rss := sampleRSS(t.proc, 20*time.Millisecond)
	// Small connection buffers: this process holds every caller's connection.
	ctr := tunedTransport(cfg.openStreams)
	ctr.ReadBufferSize, ctr.WriteBufferSize = 4<<10, 4<<10
	ctr.ResponseHeaderTimeout = heldWait
	client := &http.Client{Transport: ctr, Timeout: 2*heldWait + time.Duration(heldWords)*f.eventGap}
	defer client.CloseIdleConnections()
	for range cfg.openStreams {
		u.script(heldWords, f.eventGap)
	}
	var open, settled, bad atomic.Int64
	var why atomic.Value // the last failure's reason
	allOpen := make(chan struct{})
	opening := make(chan struct{}, heldOpening)
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.openStreams {
		opening <- struct{}{}
		wg.Go(func() {
			first := true
			settle := func() {
				if first {
					first = false
					<-opening
				}
				if settled.Add(1) == int64(cfg.openStreams) {
					close(allOpen)
				}
			}
			_, err := streamTokens(ctx, client, t, body, nil, func() {
				if first {
					open.Add(1)
					settle()
				}
			})
			if first { // failed before its first event
				settle()
			}
			if err != nil {
				bad.Add(1)
				why.Store(err.Error())
			}
		})
	}
	select {
	case <-allOpen:
	case <-time.After(heldWait):
	case <-ctx.Done():
	}
	f.opening = time.Since(start)
	f.open = int(open.Load())
	time.Sleep(time.Second) // settle, then one more sample while every stream is held
	f.heldRSS = readRSS(t.proc)
	close(gate)
	wg.Wait()
	f.peakRSS = rss.stop(t.proc)
	f.memIncomplete = int(bad.Load())
	if w, ok := why.Load().(string); ok {
		f.memFailure = w
	}
	f.answered += int64(cfg.openStreams)
	f.complete += int64(cfg.openStreams) - bad.Load()
}
