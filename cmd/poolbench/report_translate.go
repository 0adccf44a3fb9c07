package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// printTranslation writes the translated-versus-pass-through table and the stream measurements.
func (r *report) printTranslation(w io.Writer) {
	if _, ok := r.findAny(targetClaude); ok {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| mode | conc | CPU/req µs openai→openai | CPU/req µs claude→openai | translated/pass-through | median of rounds | req/s translated/pass-through |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
		for _, mode := range r.cfg.modes {
			for _, c := range r.cfg.concurrency {
				g, ok1 := r.find("poolgate", mode, c)
				t, ok2 := r.find(targetClaude, mode, c)
				if !ok1 || !ok2 {
					continue
				}
				med, n := cpuRatioMedian(t, g)
				fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.2f× | %.2f× (%d) | %.2f× |\n", mode, c, us(g.cpuPerReq()), us(t.cpuPerReq()),
					ratio(float64(t.cpuPerReq()), float64(g.cpuPerReq())), med, n, ratio(t.rps(), g.rps()))
			}
		}
		fmt.Fprintf(w, "\nThe translated path runs in its own Poolgate process (same binary, database and Redis): lifetime peak RSS (VmHWM) %.1f MiB.\n",
			mib(r.hwm[targetClaude]))
	}
	s := r.streams
	if s == nil {
		return
	}
	fmt.Fprintf(w, "\nPer-event delay, upstream flush → client read (%d concurrent streams started %s apart × %d rounds per path, paths taking turns, %d events %s apart):\n\n",
		delayStreams, delayEventGap/delayStreams, delayRounds, delayWords, delayEventGap)
	fmt.Fprintln(w, "| path | events | p50 ms | p99 ms | max ms | warm-up stream max ms | incomplete streams |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, d := range s.delays {
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %d |\n", d.path, d.samples, ms(d.p50), ms(d.p99), ms(d.max), ms(d.cold), d.incomplete)
	}
	fmt.Fprintln(w, "\nIn Poolgate over the same streams (read from the upstream → flushed to the caller; /debug/forwarding, bucket bounds):")
	fmt.Fprintln(w, "\n| path | events | p50 ≤ ms | p99 ≤ ms | max ≤ ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, d := range s.delays[1:] {
		g := s.inGateway[d.path]
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", d.path, g.events, fmtBound(g.p50), fmtBound(g.p99), fmtBound(g.max))
	}
	fmt.Fprintf(w, "\nOpen streams (fresh Poolgate process, claude→openai, upstream over TLS with HTTP/2): %d requested, at most %d awaiting their first event at a time; "+
		"%d open at once after %.1f s, held there by the upstream after their first event, then released (%d more events %s apart). "+
		"RSS idle %.1f MiB, all held %.1f MiB, peak sampled %.1f MiB (VmHWM %.1f MiB): %.1f KiB per open stream held, %.1f KiB at the peak; %d failed or incomplete.\n",
		s.wanted, heldOpening, s.open, s.opening.Seconds(), s.memWords, s.eventGap, mib(s.idleRSS), mib(s.heldRSS), mib(s.peakRSS), mib(s.hwm),
		perStream(s, s.heldRSS)/1024, perStream(s, s.peakRSS)/1024, s.memIncomplete)
	if s.memFailure != "" {
		fmt.Fprintf(w, "Last failure of an open stream: %s.\n", s.memFailure)
	}
}

// judgeTranslation adds the translation targets' verdicts.
func (r *report) judgeTranslation(add func(ok bool, what, detail string)) {
	for _, mode := range r.cfg.modes {
		var parts []string
		ok, seen := true, false
		for _, c := range r.cfg.concurrency {
			if c == 1 {
				continue // one caller: CPU per request is dominated by wake-ups, not by the work
			}
			g, ok1 := r.find("poolgate", mode, c)
			t, ok2 := r.find(targetClaude, mode, c)
			if !ok1 || !ok2 {
				continue
			}
			seen = true
			x := ratio(float64(t.cpuPerReq()), float64(g.cpuPerReq()))
			med, n := cpuRatioMedian(t, g)
			ok = ok && n > 0 && med <= maxTranslatedCPU
			parts = append(parts, fmt.Sprintf("c=%d median %.2f× over %d rounds (all rounds %.2f×: %.1f vs %.1f µs)",
				c, med, n, x, us(t.cpuPerReq()), us(g.cpuPerReq())))
		}
		if seen {
			add(ok, fmt.Sprintf("translation CPU/req ≤ %.2f× same-protocol pass-through, median of rounds (%s, claude→openai vs openai→openai)", maxTranslatedCPU, mode),
				strings.Join(parts, ", "))
		}
		var bad int64
		for _, x := range r.results {
			if x.target == targetClaude && x.mode == mode {
				bad += x.errors + x.incomplete
			}
		}
		if _, ok := r.findAny(targetClaude); ok {
			add(bad == 0, fmt.Sprintf("every translated answer complete (%s)", mode), fmt.Sprintf("%d failed or incomplete", bad))
		}
	}
	s := r.streams
	if s == nil {
		return
	}
	direct := s.delays[0] // the same streams straight from the upstream: loopback and scheduling alone
	for _, d := range s.delays[1:] {
		g := s.inGateway[d.path]
		add(g.events > 0 && g.p99 >= 0 && g.p99 <= maxEventDelay && g.p50 <= maxEventDelay && d.incomplete == 0,
			fmt.Sprintf("streamed event forwarded within %s of its arrival: p50 and p99 in Poolgate (%s)", fmtDur(maxEventDelay), d.path),
			fmt.Sprintf("in Poolgate (read from the upstream → flushed to the caller) p50 ≤ %s, p99 ≤ %s, max ≤ %s over %d events; "+
				"end to end (upstream flush → client read) p50 %s, p99 %s (direct path p99 %s, %+.3f ms), max %s; %d incomplete streams",
				fmtBound(g.p50), fmtBound(g.p99), fmtBound(g.max), g.events,
				fmtDur(d.p50), fmtDur(d.p99), fmtDur(direct.p99), ms(d.p99-direct.p99), fmtDur(d.max), d.incomplete))
	}
	add(s.open == s.wanted && s.memIncomplete == 0 && perStream(s, s.peakRSS) <= maxStreamMemory,
		fmt.Sprintf("%d concurrent open streams: all open at once and complete, ≤ %d KiB RSS each at the peak", s.wanted, maxStreamMemory>>10),
		fmt.Sprintf("%d open at once, %d failed; RSS idle %.1f, held %.1f, peak %.1f MiB: %.1f KiB per stream held, %.1f at the peak", s.open, s.memIncomplete,
			mib(s.idleRSS), mib(s.heldRSS), mib(s.peakRSS), perStream(s, s.heldRSS)/1024, perStream(s, s.peakRSS)/1024))
}

// findAny reports whether any result is for target t.
func (r *report) findAny(t string) (result, bool) {
	for _, x := range r.results {
		if x.target == t {
			return x, true
		}
	}
	return result{}, false
}

// perStream is the RSS added per open stream at rss, in bytes.
func perStream(s *streamFigures, rss int64) float64 {
	if s.open == 0 {
		return 0
	}
	return float64(rss-s.idleRSS) / float64(s.open)
}

// fmtBound formats a histogram bucket bound (-1: beyond 100 ms).
func fmtBound(d time.Duration) string {
	if d < 0 {
		return "> 100 ms"
	}
	return fmtDur(d)
}
