package reliability_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// soakSample is one reading of the process's resources during the soak.
type soakSample struct {
	at                     time.Duration
	calls                  int64
	rssKiB                 int64
	goroutines, fds, conns int
}

// failingUpstream answers one generation call in seven with a 500 (a failing account: the gateway
// cools it down and fails over) and counts the hook calls it receives on /hook/.
type failingUpstream struct {
	up    *fakeupstream.Server
	n     atomic.Int64
	hooks atomic.Int64
}

func (f *failingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/hook/") {
		f.hooks.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
		return
	}
	if r.Method == http.MethodPost && f.n.Add(1)%7 == 0 {
		f.up.Enqueue(fakeupstream.Reply{Status: http.StatusInternalServerError})
	}
	f.up.ServeHTTP(w, r)
}

// TestSoak is `make soak` (never in CI: it is skipped unless SOAK_DURATION is set). For
// SOAK_DURATION it keeps a steady mixed load on one app: the three protocols, streamed and not
// (OpenAI calls relayed, Claude and Gemini calls translated), one upstream call in seven failing
// with a 500 (failover), and the audit and notify hooks on every call. It samples the process's
// RSS, goroutines, open files and the app's PostgreSQL connections, and requires them flat after
// the warm-up (the first fifth): the last quarter's peak at most 25% (plus a small constant)
// above the peak of the first quarter after the warm-up. Every call must answer 200.
func TestSoak(t *testing.T) {
	raw := os.Getenv("SOAK_DURATION")
	if raw == "" {
		t.Skip("run by make soak (SOAK_DURATION)")
	}
	dur, err := time.ParseDuration(raw)
	require.NoError(t, err, "SOAK_DURATION")
	t.Parallel()

	fail := &failingUpstream{up: fakeupstream.New(fakeupstream.WithoutRecording())}
	upSrv := httptest.NewServer(fail)
	t.Cleanup(upSrv.Close)
	env := apptest.New(t, apptest.HookConfig(5*time.Second, true))
	env.UpstreamURL = upSrv.URL + "/v1"
	env.Channel("soak", []string{faultModel}, "sk-upstream-soak-aaaa", "sk-upstream-soak-bbbb", "sk-upstream-soak-cccc")
	env.Price(faultModel, 3_000_000, 7_000_000)
	user := env.NewUser("soak-user", 1_000_000_000_000_000) // the contract's largest balance
	settings(t, env, fmt.Sprintf(`{"audit_limit_url":%q,"notify_url":%q}`, upSrv.URL+"/hook/audit", upSrv.URL+"/hook/notify"))

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var calls, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Timeout: time.Minute}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				c, stream := callers[i%len(callers)], i%2 == 1
				res, err := client.Do(c.request(env.URL, user.Key, stream).WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						firstFailure.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				body, err := readBody(res)
				switch {
				case ctx.Err() != nil:
				case err != nil || res.StatusCode != http.StatusOK || (stream && c.streamError(body)):
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%s %d: %.300s", c.name, res.StatusCode, body))
				default:
					calls.Add(1)
				}
			}
		}()
	}

	every := max(dur/40, time.Second)
	start := time.Now()
	var samples []soakSample
	take := func() {
		s := soakSample{at: time.Since(start).Round(time.Second), calls: calls.Load(), rssKiB: rssKiB(t),
			goroutines: runtime.NumGoroutine(), fds: openFiles(t)}
		require.NoError(t, env.App.Pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").Scan(&s.conns))
		samples = append(samples, s)
	}
	take()
	tick := time.NewTicker(every)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			take()
		}
	}
	tick.Stop()
	wg.Wait()

	var b strings.Builder
	fmt.Fprintf(&b, "| at | calls | RSS MiB | goroutines | open files | PG connections |\n|---|---|---|---|---|---|\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %d | %d | %d |\n", s.at, s.calls, float64(s.rssKiB)/1024, s.goroutines, s.fds, s.conns)
	}
	t.Logf("soak of %s: %d calls answered 200, %d failed, %d hook calls\n%s", dur, calls.Load(), failed.Load(), fail.hooks.Load(), b.String())
	require.Zero(t, failed.Load(), "no call fails: %v", firstFailure.Load())
	require.Positive(t, fail.hooks.Load(), "the hooks were called")

	warm := len(samples) / 5
	rest := samples[warm:]
	require.GreaterOrEqual(t, len(rest), 4, "too short a soak to judge (SOAK_DURATION of a minute at least)")
	q := len(rest) / 4
	early, late := rest[:q], rest[len(rest)-q:]
	flat := func(name string, slack int64, get func(soakSample) int64) {
		var e, l int64
		for _, s := range early {
			e = max(e, get(s))
		}
		for _, s := range late {
			l = max(l, get(s))
		}
		require.LessOrEqual(t, l, e+e/4+slack, "%s is flat after the warm-up (peak %d early, %d late)", name, e, l)
	}
	flat("RSS (KiB)", 32<<10, func(s soakSample) int64 { return s.rssKiB })
	flat("goroutines", 50, func(s soakSample) int64 { return int64(s.goroutines) })
	flat("open files", 20, func(s soakSample) int64 { return int64(s.fds) })
	flat("PostgreSQL connections", 4, func(s soakSample) int64 { return int64(s.conns) })
}

// rssKiB is the process's resident set size.
func rssKiB(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(fds)
}
