package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets of the foundation slice (issue item 14), full gateway path against the bare proxy.
const (
	minThroughputRatio = 0.5                    // at 64 and 256 concurrent
	maxAddedP50        = 150 * time.Microsecond // at concurrency 1
	maxRSS             = 100 << 20              // at 256 concurrent
)

// Baselines besides the bare proxy: the fake upstream called directly (no hop at all) and nginx as
// a plain keep-alive reverse proxy (the ceiling for the socket work).
const (
	targetUpstream = "upstream"
	targetNginx    = "nginx"
)

// Targets of the speed issue, full gateway path against the nginx baseline.
const (
	minNginxThroughput = 0.6                    // at 64 and 256 concurrent
	maxNginxCPU        = 2.0                    // CPU/req at 64 and 256 concurrent, median of rounds
	maxNginxAddedP50   = 100 * time.Microsecond // at concurrency 1
)

// Targets of the protocols issue (translation).
const (
	maxTranslatedCPU = 1.20             // CPU/req translated ÷ same-protocol pass-through
	maxEventDelay    = time.Millisecond // upstream flush → client read, p99
	maxStreamMemory  = 128 << 10        // RSS added per open stream
)

// report renders the figures and judges the targets.
type report struct {
	cfg     config
	results []result
	meter   meterCheck
	hwm     map[string]int64 // lifetime peak RSS per target
	events  int
	checks  []check
	streams *streamFigures // nil when not measured
}

// check is one target's verdict.
type check struct {
	ok     bool
	what   string
	detail string
}

func (r *report) find(t, mode string, c int) (result, bool) {
	for _, x := range r.results {
		if x.target == t && x.mode == mode && x.concurrency == c {
			return x, true
		}
	}
	return result{}, false
}

// print writes the report as markdown.
func (r *report) print(w io.Writer) {
	r.judge()
	redis := r.cfg.redisURL
	if redis == "" {
		redis = "none"
	}
	fmt.Fprintf(w, "\n## poolbench — full Poolgate path vs nginx, a bare httputil.ReverseProxy and the upstream called directly\n\n")
	fmt.Fprintf(w, "%d CPUs, %s; warm-up %s, measured %s per scenario; poolgate LOG_LEVEL=%s, Redis %s; %d data events per stream.\n\n",
		runtime.NumCPU(), runtime.Version(), r.cfg.warmup, r.cfg.duration, r.cfg.logLevel, redis, r.events)
	if len(r.cfg.extraEnv) > 0 {
		fmt.Fprintf(w, "Extra poolgate environment: %s.\n\n", r.cfg.extraEnv.String())
	}
	fmt.Fprintln(w, "| mode | conc | target | req/s | p50 ms | p99 ms | CPU/req µs | syscalls/req | peak RSS MiB | errors | incomplete |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, x := range r.results {
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %.3f | %.3f | %.1f | %.1f | %.1f | %d | %d |\n", x.mode, x.concurrency, x.target,
			x.rps(), ms(x.p50), ms(x.p99), us(x.cpuPerReq()), x.syscallsPerReq(), mib(x.rssPeak), x.errors, x.incomplete)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| mode | conc | throughput poolgate/nginx | poolgate/proxy | p50 added over nginx ms | over proxy ms | CPU/req poolgate/nginx | median of rounds | poolgate/proxy |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, mode := range r.cfg.modes {
		for _, c := range r.cfg.concurrency {
			n, ok0 := r.find(targetNginx, mode, c)
			p, ok1 := r.find("proxy", mode, c)
			g, ok2 := r.find("poolgate", mode, c)
			if !ok0 || !ok1 || !ok2 {
				continue
			}
			med, rounds := cpuRatioMedian(g, n)
			fmt.Fprintf(w, "| %s | %d | %.2f× | %.2f× | %+.3f | %+.3f | %.2f× | %.2f× (%d) | %.2f× |\n", mode, c,
				ratio(g.rps(), n.rps()), ratio(g.rps(), p.rps()), ms(g.p50-n.p50), ms(g.p50-p.p50),
				ratio(float64(g.cpuPerReq()), float64(n.cpuPerReq())), med, rounds, ratio(float64(g.cpuPerReq()), float64(p.cpuPerReq())))
		}
	}
	r.printMachine(w)
	fmt.Fprintf(w, "\nLifetime peak RSS (VmHWM; nginx: master and workers added): upstream %.1f MiB, nginx %.1f MiB, proxy %.1f MiB, poolgate %.1f MiB.\n",
		mib(r.hwm[targetUpstream]), mib(r.hwm[targetNginx]), mib(r.hwm["proxy"]), mib(r.hwm["poolgate"]))
	r.printTranslation(w)
	m := r.meter
	fmt.Fprintf(w, "Metering: poolgate answered %d calls (%d complete 200s) over the run; usage_logs holds %d rows (%d with status 200) after %.1f s.",
		m.responded, m.ok, m.rows, m.rows200, m.waited.Seconds())
	fmt.Fprintf(w, " Other answers seen by the client (warm-ups included): %s, %d incomplete 200s; rows by status: %s.\n\n",
		byStatus(m.statuses), m.partial, byStatus(m.logged))
	for _, c := range r.checks {
		verdict := "PASS"
		if !c.ok {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "- %s %s: %s\n", verdict, c.what, c.detail)
	}
}

// judge evaluates the targets that the chosen scenarios cover.
func (r *report) judge() {
	r.checks = nil
	add := func(ok bool, what, detail string) { r.checks = append(r.checks, check{ok, what, detail}) }
	r.judgeNginx(add)
	for _, mode := range r.cfg.modes {
		var parts []string
		ok, seen := true, false
		for _, c := range []int{64, 256} {
			p, ok1 := r.find("proxy", mode, c)
			g, ok2 := r.find("poolgate", mode, c)
			if !ok1 || !ok2 {
				continue
			}
			seen = true
			x := ratio(g.rps(), p.rps())
			ok = ok && x >= minThroughputRatio
			parts = append(parts, fmt.Sprintf("c=%d %.2f×", c, x))
		}
		if seen {
			add(ok, fmt.Sprintf("throughput ≥ %.2f× proxy at 64 and 256 concurrent (%s)", minThroughputRatio, mode), strings.Join(parts, ", "))
		}
		p, ok1 := r.find("proxy", mode, 1)
		g, ok2 := r.find("poolgate", mode, 1)
		if ok1 && ok2 {
			d := g.p50 - p.p50
			add(d <= maxAddedP50, fmt.Sprintf("p50 added ≤ %.2f ms at concurrency 1 (%s)", ms(maxAddedP50), mode),
				fmt.Sprintf("%+.3f ms (%.3f vs %.3f)", ms(d), ms(g.p50), ms(p.p50)))
		}
	}
	var peak int64 = -1
	for _, x := range r.results {
		if x.target == "poolgate" && x.concurrency == 256 {
			peak = max(peak, x.rssPeak)
		}
	}
	if peak >= 0 {
		add(peak <= maxRSS, "poolgate RSS ≤ 100 MiB at 256 concurrent", fmt.Sprintf("peak sampled VmRSS %.1f MiB", mib(peak)))
	}
	for _, mode := range r.cfg.modes {
		var n, bad, proxyBad int64
		for _, x := range r.results {
			if x.mode != mode {
				continue
			}
			switch x.target {
			case "poolgate":
				n += x.requests
				bad += x.errors + x.incomplete
			case targetClaude:
			default:
				proxyBad += x.errors + x.incomplete
			}
		}
		what := "every poolgate request answered in full (normal)"
		if mode == modeStream {
			what = "every poolgate stream complete"
		}
		add(bad == 0, what, fmt.Sprintf("%d complete, %d failed or incomplete (baselines: %d failed or incomplete)", n, bad, proxyBad))
	}
	r.judgeTranslation(add)
	m := r.meter
	add(m.pass(), "usage logged exactly once per answered call",
		fmt.Sprintf("%d rows for %d answers; %d status-200 rows for %d complete 200s", m.rows, m.responded, m.rows200, m.ok))
}

// pass reports whether every target was met.
func (r *report) pass() bool {
	if r.checks == nil {
		r.judge()
	}
	for _, c := range r.checks {
		if !c.ok {
			return false
		}
	}
	return true
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// byStatus formats counts by HTTP status (or another label), e.g. "200×5, 502×1", or "none".
func byStatus[K int | string](m map[K]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%v×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// judgeNginx adds the verdicts of the speed issue's targets: the full path against nginx.
func (r *report) judgeNginx(add func(ok bool, what, detail string)) {
	for _, mode := range r.cfg.modes {
		var tput, cpu []string
		okT, okC, seen := true, true, false
		for _, c := range []int{64, 256} {
			n, ok1 := r.find(targetNginx, mode, c)
			g, ok2 := r.find("poolgate", mode, c)
			if !ok1 || !ok2 {
				continue
			}
			seen = true
			x := ratio(g.rps(), n.rps())
			okT = okT && x >= minNginxThroughput
			tput = append(tput, fmt.Sprintf("c=%d %.2f× (%.0f vs %.0f req/s)", c, x, g.rps(), n.rps()))
			med, rounds := cpuRatioMedian(g, n)
			okC = okC && rounds > 0 && med <= maxNginxCPU
			cpu = append(cpu, fmt.Sprintf("c=%d median %.2f× over %d rounds (all rounds %.2f×: %.1f vs %.1f µs)", c, med, rounds,
				ratio(float64(g.cpuPerReq()), float64(n.cpuPerReq())), us(g.cpuPerReq()), us(n.cpuPerReq())))
		}
		if seen {
			add(okT, fmt.Sprintf("throughput ≥ %.2f× nginx at 64 and 256 concurrent (%s)", minNginxThroughput, mode), strings.Join(tput, ", "))
			add(okC, fmt.Sprintf("CPU/req ≤ %.1f× nginx's at 64 and 256 concurrent, median of rounds (%s)", maxNginxCPU, mode), strings.Join(cpu, ", "))
		}
		n, ok1 := r.find(targetNginx, mode, 1)
		g, ok2 := r.find("poolgate", mode, 1)
		if ok1 && ok2 {
			d := g.p50 - n.p50
			add(d <= maxNginxAddedP50, fmt.Sprintf("p50 ≤ +%.2f ms over nginx at concurrency 1 (%s)", ms(maxNginxAddedP50), mode),
				fmt.Sprintf("%+.3f ms (%.3f vs %.3f)", ms(d), ms(g.p50), ms(n.p50)))
		}
	}
}

// printMachine shows where the machine's cores went per answered call in each scenario: the
// target, the load generator (poolbench itself), Redis and PostgreSQL, the rest (the fake
// upstream, the kernel's own work, anything else running), and the share of the cores left idle.
// A target that leaves cores idle is bound by its waits, not by CPU.
func (r *report) printMachine(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Where the machine's CPU went, per answered call (µs; all cores, /proc/stat; Redis and PostgreSQL: every redis-server and postgres process):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| mode | conc | target | machine busy | target | load generator | Redis | PostgreSQL | rest | cores idle |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, x := range r.results {
		m := x.machine
		if x.requests == 0 || m.busy <= 0 || x.cpu < 0 {
			continue
		}
		per := func(d time.Duration) float64 { return us(d / time.Duration(x.requests)) }
		rest := m.busy - x.cpu - m.self - m.redis - m.postgres
		fmt.Fprintf(w, "| %s | %d | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f %% |\n", x.mode, x.concurrency, x.target,
			per(m.busy), per(x.cpu), per(m.self), per(m.redis), per(m.postgres), per(rest), 100*float64(m.idle)/float64(m.busy+m.idle))
	}
}
