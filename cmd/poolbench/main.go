// Command poolbench is Poolgate's load benchmark (`make bench`). In one run it measures the full
// gateway path (API key auth, balance check, account selection, metering, batched usage log)
// beside a bare [net/http/httputil.ReverseProxy] in front of the same fake upstream, on loopback,
// and checks the figures against the targets of the foundation slice.
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
}

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
	if c.duration <= 0 || c.warmup < 0 || c.words < 1 || c.words > 10000 {
		return c, errors.New("-duration must be positive, -warmup not negative, -words from 1 to 10000")
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
	pg, err := startPoolgate(ctx, cfg, &kids, up.url+"/v1")
	if err != nil {
		if pg != nil {
			pg.cleanup()
		}
		return fail("start poolgate", err)
	}
	defer pg.cleanup()

	body := requestBodies(cfg.words)
	expected, err := calibrate(ctx, up.url+"/v1/chat/completions", body[modeStream])
	if err != nil {
		return fail("calibrate stream events", err)
	}
	targets := []*target{
		{name: "proxy", proc: proxy.pid, url: proxy.url + "/v1/chat/completions", key: "sk-bench-bare-proxy"},
		{name: "poolgate", proc: pg.child.pid, url: pg.child.url + "/v1/chat/completions", key: pg.apiKey},
	}
	fmt.Fprintf(os.Stderr, "poolbench: upstream %s (pid %d), proxy %s (pid %d), poolgate %s (pid %d, db %s, redis %q, LOG_LEVEL=%s); %d events per stream\n",
		up.url, up.pid, proxy.url, proxy.pid, pg.child.url, pg.child.pid, pg.dbName, pg.redisPrefix, cfg.logLevel, expected)

	var results []result
	for _, mode := range cfg.modes {
		for _, n := range cfg.concurrency {
			for _, t := range targets {
				if ctx.Err() != nil {
					return fail("interrupted", ctx.Err())
				}
				s := scenario{target: t, mode: mode, concurrency: n, body: body[mode], events: expected}
				r := s.run(ctx, cfg.warmup, cfg.duration)
				fmt.Fprintf(os.Stderr, "poolbench: %-8s %-6s c=%-3d %8.0f req/s p50 %6.2f ms p99 %7.2f ms errors %d incomplete %d\n",
					t.name, mode, n, r.rps(), ms(r.p50), ms(r.p99), r.errors, r.incomplete)
				results = append(results, r)
			}
		}
	}
	poolgateCounts := targets[1].counts()
	meter, err := pg.checkMetering(ctx, poolgateCounts)
	if err != nil {
		return fail("check metering", err)
	}
	hwm := map[string]int64{"proxy": readHWM(proxy.pid), "poolgate": readHWM(pg.child.pid)}
	rep := report{cfg: cfg, results: results, meter: meter, hwm: hwm, events: expected}
	rep.print(os.Stdout)
	if !rep.pass() {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
