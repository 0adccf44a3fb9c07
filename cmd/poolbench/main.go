// Command poolbench is Poolgate's load benchmark (`make bench`). In one run it measures the full
// gateway path (API key auth, balance check, account selection, metering, batched usage log)
// beside three baselines in front of the same fake upstream, on loopback: the upstream called
// directly, nginx as a plain keep-alive reverse proxy (a configuration written by the benchmark,
// see nginx.go) and a bare [net/http/httputil.ReverseProxy]; it checks the figures against the
// targets of the speed issue (against nginx) and of the foundation slice (against the bare proxy).
//
// It also measures translation (the protocols issue): a Claude caller (/v1/messages, x-api-key,
// anthropic-version) on the same OpenAI channel, served by a second Poolgate process on the same
// database so that its CPU per request compares with the same-protocol path's; the delay between
// an upstream event's flush and its read by the client, on one clock (a time-stamping fake
// upstream served in this process); and the memory of a third, fresh Poolgate process holding
// -open-streams translated streams open at once.
//
// Every server runs in its own process so that its CPU and memory can be read from /proc: the
// fake upstream and the bare proxy are this binary re-executed with a subcommand, Poolgate is its
// real binary started on a fresh database (created on the local PostgreSQL, dropped at the end)
// and, by default, the local Redis under a unique key prefix. The load generator runs in this
// process: one goroutine per concurrency slot, keep-alive connections, a warm-up, then a fixed
// measured duration. Scenarios alternate between the two targets (proxy, then Poolgate, for each
// mode and concurrency) so that machine noise affects both alike.
//
// Usage:
//
//	poolbench [flags]                          run the benchmark and print a markdown report
//	poolbench upstream -addr 127.0.0.1:0       (internal) serve the fake upstream
//	poolbench proxy -addr 127.0.0.1:0 -upstream URL   (internal) serve the bare reverse proxy
//
// All traffic stays on 127.0.0.1; every child is stopped at the end, also on Ctrl-C, and the whole
// run is bounded by -timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the benchmark's command line.
type config struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency []int
	modes       []string
	poolgate    string
	pgURL       string
	redisURL    string
	logLevel    string
	words       int
	timeout     time.Duration
	extraEnv    envList
	// translated adds the Claude-inbound scenarios translated to the OpenAI channel.
	translated bool
	// streamChecks adds the per-event delay and open-streams memory measurements.
	streamChecks bool
	openStreams  int           // concurrent open streams for the memory measurement
	eventDelay   time.Duration // upstream delay between events while streams are held open
	// profileDir, when set, receives a CPU profile of each Poolgate process per scenario.
	profileDir string
	// rounds splits each scenario's measured duration into rounds, the targets taking turns.
	rounds int
}

// maxOpenStreams bounds -open-streams: poolbench and Poolgate each hold one socket per open
// stream, under this machine's limit of 20 000 open files per process.
const maxOpenStreams = 16000

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "upstream":
			os.Exit(serveUpstream(os.Args[2:]))
		case "proxy":
			os.Exit(serveProxy(os.Args[2:]))
		}
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(run(cfg))
}

func parseFlags(args []string) (config, error) {
	var c config
	var conc, modes string
	fs := flag.NewFlagSet("poolbench", flag.ContinueOnError)
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "measured duration of each scenario")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "warm-up before each scenario (not measured)")
	fs.StringVar(&conc, "concurrency", "1,64,256", "comma-separated concurrency levels")
	fs.StringVar(&modes, "modes", "normal,stream", "comma-separated modes: normal, stream")
	fs.StringVar(&c.poolgate, "poolgate", "", "poolgate binary to run (default: build ./cmd/poolgate into a temporary directory)")
	fs.StringVar(&c.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server to create the benchmark database on")
	fs.StringVar(&c.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis for poolgate (empty: run without Redis)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "poolgate LOG_LEVEL (info writes one access-log line per request)")
	fs.IntVar(&c.words, "words", 8, "words in the user message (the fake upstream streams one event per answer word)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	fs.BoolVar(&c.translated, "translated", true, "also load a Claude inbound (/v1/messages) translated to the OpenAI channel")
	fs.BoolVar(&c.streamChecks, "stream-checks", true, "also measure the per-event forwarding delay and memory with -open-streams open streams")
	fs.IntVar(&c.openStreams, "open-streams", 10000, "concurrent open streams for the memory measurement")
	fs.DurationVar(&c.eventDelay, "event-delay", 100*time.Millisecond, "upstream delay between events in the stream measurements")
	fs.StringVar(&c.profileDir, "profile", "", "directory for a CPU profile of each Poolgate process over each measured scenario (TARGET-MODE-cN.pprof; go tool pprof)")
	fs.IntVar(&c.rounds, "rounds", 5, "split each scenario's measured duration into this many rounds, the targets taking turns, so that each target sees the same stretches of background noise")
	fs.Var(&c.extraEnv, "env", "extra KEY=VALUE for poolgate's environment, e.g. GOMEMLIMIT=80MiB (repeatable)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			return c, fmt.Errorf("bad -concurrency %q: want numbers from 1 to 4096", s)
		}
		c.concurrency = append(c.concurrency, n)
	}
	for _, m := range strings.Split(modes, ",") {
		m = strings.TrimSpace(m)
		if m != modeNormal && m != modeStream {
			return c, fmt.Errorf("bad -modes %q: want normal and/or stream", m)
		}
		c.modes = append(c.modes, m)
	}
	if c.rounds < 1 || c.rounds > 100 {
		return c, errors.New("-rounds must be from 1 to 100")
	}
	if c.duration <= 0 || c.warmup < 0 || c.words < 1 || c.words > 10000 || c.openStreams < 1 || c.openStreams > maxOpenStreams ||
		c.eventDelay < time.Millisecond || c.eventDelay > 5*time.Second {
		return c, errors.New("-duration must be positive, -warmup not negative, -words from 1 to 10000, -open-streams from 1 to 16000, -event-delay from 1ms to 5s")
	}
	return c, nil
}

// run performs the whole benchmark and returns the process exit code: 0 when every target is met,
// 1 when one is missed, 2 when the benchmark itself could not run.
func run(cfg config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o750); err != nil {
			fmt.Fprintln(os.Stderr, "poolbench: -profile:", err)
			return 2
		}
	}
	var kids children
	defer kids.stopAll()
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "poolbench: %s: %v\n", what, err)
		return 2
	}

	up, err := kids.startSelf(ctx, "upstream", "upstream", "-addr", "127.0.0.1:0")
	if err != nil {
		return fail("start the fake upstream", err)
	}
	proxy, err := kids.startSelf(ctx, "proxy", "proxy", "-addr", "127.0.0.1:0", "-upstream", up.url)
	if err != nil {
		return fail("start the bare proxy", err)
	}
	ngx, ngxCleanup, err := startNginx(ctx, &kids, up.url)
	defer ngxCleanup()
	if err != nil {
		return fail("start the nginx baseline", err)
	}
	var stamp *stampUpstream
	if cfg.streamChecks {
		if stamp, err = startStampUpstream(); err != nil {
			return fail("start the time-stamping upstream", err)
		}
		defer stamp.close()
	}
	pg, err := startPoolgate(ctx, cfg, &kids, up.url+"/v1", stamp)
	if err != nil {
		if pg != nil {
			pg.cleanup()
		}
		return fail("start poolgate", err)
	}
	defer pg.cleanup()

	rawUp := &target{name: "upstream", url: up.url + "/v1/chat/completions", key: "sk-bench-calibration"}
	expected, err := calibrate(ctx, rawUp, requestBodies(cfg.words)[modeStream])
	if err != nil {
		return fail("calibrate stream events", err)
	}
	gate := &target{name: "poolgate", proc: pg.child.pid, url: pg.child.url + "/v1/chat/completions", key: pg.apiKey,
		debugAddr: pg.child.debugAddr}
	targets := []*target{
		{name: targetUpstream, proc: up.pid, url: up.url + "/v1/chat/completions", key: "sk-bench-direct"},
		{name: targetNginx, proc: ngx.pid, url: ngx.url + "/v1/chat/completions", key: "sk-bench-nginx"},
		{name: "proxy", proc: proxy.pid, url: proxy.url + "/v1/chat/completions", key: "sk-bench-bare-proxy"},
		gate,
	}
	bodies := map[string]map[string][]byte{}
	events := map[string]int{}
	for _, t := range targets {
		bodies[t.name], events[t.name] = requestBodies(cfg.words), expected
	}
	var claude *target
	if cfg.translated {
		// Claude inbound translated to the OpenAI channel, served by a second Poolgate process on
		// the same database and Redis, so that each path's CPU and memory are its own (the
		// foundation targets stay about the same-protocol path). Its event count is taken from
		// one stream through it (no other server speaks that translation); every later stream
		// must match it and end with message_stop.
		pc, err := pg.launch(ctx, &kids, targetClaude, filepath.Join(pg.dir, "poolgate-claude.log"))
		if err != nil {
			return fail("start the second poolgate", err)
		}
		cl := &target{name: targetClaude, proc: pc.pid, url: pc.url + "/v1/messages", key: pg.apiKey, claude: true,
			debugAddr: pc.debugAddr}
		bodies[cl.name] = claudeBodies(cfg.words)
		if events[cl.name], err = calibrate(ctx, cl, bodies[cl.name][modeStream]); err != nil {
			return fail("calibrate translated stream events", err)
		}
		cl.responded.Add(1) // the calibration call is metered too
		cl.ok.Add(1)
		targets, claude = append(targets, cl), cl
	}
	fmt.Fprintf(os.Stderr, "poolbench: upstream %s (pid %d), nginx %s (pid %d), proxy %s (pid %d), poolgate %s (pid %d, db %s, redis %q, LOG_LEVEL=%s); %d events per stream\n",
		up.url, up.pid, ngx.url, ngx.pid, proxy.url, proxy.pid, pg.child.url, pg.child.pid, pg.dbName, pg.redisPrefix, cfg.logLevel, expected)

	results, err := runScenarios(ctx, cfg, targets, bodies, events)
	if err != nil {
		return fail("interrupted", err)
	}
	var streams *streamFigures
	if cfg.streamChecks {
		if streams, err = measureStreams(ctx, cfg, pg, &kids, stamp); err != nil {
			return fail("stream delay and memory", err)
		}
	}
	poolgateCounts := gate.counts()
	if claude != nil {
		// The translated calls are answered and metered too: count them with Poolgate's.
		poolgateCounts.add(claude.counts())
	}
	if streams != nil {
		poolgateCounts.add(counts{responded: streams.answered, ok: streams.complete})
	}
	meter, err := pg.checkMetering(ctx, poolgateCounts)
	if err != nil {
		return fail("check metering", err)
	}
	if !meter.pass() {
		// Show what Poolgate said about the calls that were not logged (its logs go with the
		// temporary directory).
		for _, f := range []string{"poolgate.log", "poolgate-claude.log"} {
			fmt.Fprintf(os.Stderr, "poolbench: metering mismatch; end of %s:\n%s\n", f, logTail(filepath.Join(pg.dir, f)))
		}
	}
	hwm := map[string]int64{}
	for _, t := range targets {
		hwm[t.name] = readHWM(t.proc)
	}
	rep := report{cfg: cfg, results: results, meter: meter, hwm: hwm, events: expected, streams: streams}
	rep.print(os.Stdout)
	if !rep.pass() {
		return 1
	}
	return 0
}

// runScenarios measures every mode, concurrency and target. Each scenario's duration is split into
// cfg.rounds rounds and the targets take turns round by round (a full warm-up before the first,
// a short one before the others), so that a stretch of background load on the machine falls on
// every target alike; each target's rounds are merged into one result.
func runScenarios(ctx context.Context, cfg config, targets []*target, bodies map[string]map[string][]byte,
	events map[string]int) ([]result, error) {
	var results []result
	round := cfg.duration / time.Duration(cfg.rounds)
	for _, mode := range cfg.modes {
		for _, n := range cfg.concurrency {
			merged := make([]result, len(targets))
			for i := range cfg.rounds {
				for j, t := range targets {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					s := scenario{target: t, mode: mode, concurrency: n, body: bodies[t.name][mode], events: events[t.name]}
					warmup := cfg.warmup
					if i > 0 {
						warmup = min(warmup, 250*time.Millisecond)
					} else {
						s.profileDir = cfg.profileDir
					}
					r := s.run(ctx, warmup, round)
					if i == 0 {
						merged[j] = r
					} else {
						merged[j].merge(r)
					}
				}
			}
			for _, r := range merged {
				fmt.Fprintf(os.Stderr, "poolbench: %-15s %-6s c=%-3d %8.0f req/s p50 %6.2f ms p99 %7.2f ms errors %d incomplete %d\n",
					r.target, mode, n, r.rps(), ms(r.p50), ms(r.p99), r.errors, r.incomplete)
				r.lat = nil
				results = append(results, r)
			}
		}
	}
	return results, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
