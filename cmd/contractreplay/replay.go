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
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/freeport"
)

const replayHeader = "X-Contract-Replay"

type replay struct {
	prism, specs string
	workers      int
	out          io.Writer

	exchanges []apptest.Exchange
}

// load reads every recorded exchange whose request was meant to match its contract.
func (r *replay) load(dir string) (skipped, redirects int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return 0, 0, err
	}
	if len(files) == 0 {
		return 0, 0, fmt.Errorf("no recorded exchanges in %s (run the tests with %s=%s)", dir, apptest.RecordDirEnv, dir)
	}
	for _, f := range files {
		fh, err := os.Open(f) //nolint:gosec // the recording directory
		if err != nil {
			return 0, 0, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			var e apptest.Exchange
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				_ = fh.Close()
				return 0, 0, fmt.Errorf("%s: %w", f, err)
			}
			switch {
			case !e.Checked:
				skipped++
				continue
			case e.Status >= 300 && e.Status < 400: // prism's proxy follows redirects: it cannot pass one back
				redirects++
				continue
			}
			r.exchanges = append(r.exchanges, e)
		}
		_ = fh.Close()
		if err := sc.Err(); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", f, err)
		}
	}
	return skipped, redirects, nil
}

// serve answers each replayed request with its recorded response.
func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	i, err := strconv.Atoi(req.Header.Get(replayHeader))
	if err != nil || i < 0 || i >= len(r.exchanges) {
		http.Error(w, "unknown exchange", http.StatusTeapot)
		return
	}
	e := &r.exchanges[i]
	for k, v := range e.RespHeader {
		w.Header().Set(k, v)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.RespBody)
}

// prismProc is the running `prism proxy --errors` of one contract. Prism (Node) has been seen to
// exit in the middle of a replay on a loaded machine, with nothing wrong in the exchanges (the
// same recording replayed again passed in full): the exchanges it would have checked then fail
// to connect. A worker that cannot reach it asks for it back (restart): its output is kept for
// the report, a new one is started, and the exchange is sent again. At most maxRestarts times
// per contract; past that, the errors stand.
type prismProc struct {
	r                  *replay
	contract, upstream string

	mu       sync.Mutex
	base     string
	logs     *lockedWriter
	exited   chan struct{}
	cmd      *exec.Cmd
	restarts int
	deaths   []string // the output of each prism that exited, for the report
}

const maxRestarts = 3

// startPrism runs `prism proxy --errors` for a contract in front of upstream and waits until it listens.
func (r *replay) startPrism(ctx context.Context, contract, upstream string) (*prismProc, error) {
	p := &prismProc{r: r, contract: contract, upstream: upstream}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// start runs a new prism (p.mu held, or p not shared yet). A prism counts as started once its
// own output says it listens on its port: a connection alone could reach another prism that
// took the same port first (the loser exits with EADDRINUSE, and every exchange sent to the
// winner would fail as a path its contract does not have). A prism that exits before it
// listens is started again on another port, up to maxStartTries times.
func (p *prismProc) start(ctx context.Context) error {
	var last error
	for range maxStartTries {
		port, err := freeport.Take()
		if err != nil {
			return err
		}
		if last = p.startOn(ctx, port); last == nil || ctx.Err() != nil {
			return last
		}
	}
	return last
}

const maxStartTries = 3

func (p *prismProc) startOn(ctx context.Context, port int) error {
	logs := &lockedWriter{w: &bytes.Buffer{}}
	cmd := exec.CommandContext(ctx, p.r.prism, "proxy", filepath.Join(p.r.specs, p.contract+".yaml"), p.upstream, //nolint:gosec // our own tool
		"--errors", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start prism: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.logs, p.exited = cmd, logs, exited
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	listening := "Prism is listening on " + base
	deadline := time.Now().Add(60 * time.Second)
	for {
		if strings.Contains(logs.String(), listening) {
			p.base = base
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("prism for %s exited before it listened on %s:\n%s", p.contract, base, tail(logs.String(), 30))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stopLocked()
			return fmt.Errorf("prism for %s did not listen within 60 s:\n%s", p.contract, tail(logs.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// current is the base URL of the running prism.
func (p *prismProc) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base
}

// restart starts a new prism if the one at base has exited, and reports whether the caller
// should send its exchange again (to current()).
func (p *prismProc) restart(ctx context.Context, base string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.base != base {
		return true // another worker restarted it already
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		return false // it runs: the error is the exchange's own
	}
	if p.restarts >= maxRestarts {
		return false
	}
	p.restarts++
	p.deaths = append(p.deaths, fmt.Sprintf("prism for %s exited during the replay (restarted, %d of %d); the end of its output:\n%s",
		p.contract, p.restarts, maxRestarts, tail(p.logs.String(), 30)))
	return p.start(ctx) == nil
}

// stop ends the running prism.
func (p *prismProc) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

func (p *prismProc) stopLocked() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// lockedWriter serialises prism's stdout and stderr into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// violation is one exchange Prism found at fault.
type violation struct {
	contract, method, path string
	status                 int
	detail                 string
}

// check sends one exchange through Prism and reports what Prism found wrong.
func check(ctx context.Context, client *http.Client, base string, i int, e *apptest.Exchange) (*violation, error) {
	req, err := http.NewRequestWithContext(ctx, e.Method, base+e.URI, bytes.NewReader(e.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range e.Header {
		req.Header.Set(k, v)
	}
	req.Header.Set(replayHeader, strconv.Itoa(i))
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	path, _, _ := strings.Cut(e.URI, "?")
	v := &violation{contract: e.Contract, method: e.Method, path: path, status: e.Status}
	if sl := res.Header.Get("sl-violations"); sl != "" {
		v.detail = sl
		return v, nil
	}
	if res.StatusCode != e.Status {
		v.detail = fmt.Sprintf("prism answered %d instead of the recorded %d: %s", res.StatusCode, e.Status, truncate(body))
		return v, nil
	}
	return nil, nil
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

func (r *replay) run(ctx context.Context, dir string) error {
	start := time.Now()
	skipped, redirects, err := r.load(dir)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer func() { _ = srv.Close() }()
	upstream := "http://" + l.Addr().String()

	byContract := map[string][]int{}
	for i := range r.exchanges {
		byContract[r.exchanges[i].Contract] = append(byContract[r.exchanges[i].Contract], i)
	}
	var (
		mu         sync.Mutex
		violations []violation
		errs       []error
		deaths     []string
		wg         sync.WaitGroup
	)
	for contract, idx := range byContract {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := r.startPrism(ctx, contract, upstream)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer func() {
				p.stop()
				mu.Lock()
				deaths = append(deaths, p.deaths...)
				mu.Unlock()
			}()
			client := &http.Client{Timeout: 30 * time.Second}
			jobs := make(chan int)
			var inner sync.WaitGroup
			for range r.workers {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for i := range jobs {
						base := p.current()
						v, err := check(ctx, client, base, i, &r.exchanges[i])
						if err != nil && p.restart(ctx, base) {
							v, err = check(ctx, client, p.current(), i, &r.exchanges[i])
						}
						mu.Lock()
						if err != nil {
							errs = append(errs, fmt.Errorf("%s %s: %w", r.exchanges[i].Method, r.exchanges[i].URI, err))
						} else if v != nil {
							violations = append(violations, *v)
						}
						mu.Unlock()
					}
				}()
			}
			for _, i := range idx {
				jobs <- i
			}
			close(jobs)
			inner.Wait()
		}()
	}
	wg.Wait()
	for _, d := range deaths {
		fmt.Fprintln(r.out, d)
	}
	return r.report(len(r.exchanges), skipped, redirects, len(byContract), violations, errs, time.Since(start))
}

func (r *replay) report(n, skipped, redirects, contracts int, violations []violation, errs []error, took time.Duration) error {
	fmt.Fprintf(r.out, "contract replay: %d exchanges through prism proxy --errors for %d contracts in %.1f s "+
		"(left out: %d with deliberately invalid requests, %d redirects, which prism's proxy follows)\n",
		n, contracts, took.Seconds(), skipped, redirects)
	seen := map[string]int{}
	keys := []string{}
	for _, v := range violations {
		k := fmt.Sprintf("%s %s %s → %d: %s", v.contract, v.method, v.path, v.status, v.detail)
		if seen[k] == 0 {
			keys = append(keys, k)
		}
		seen[k]++
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 50 {
			fmt.Fprintf(r.out, "... and %d more distinct violations\n", len(keys)-50)
			break
		}
		fmt.Fprintf(r.out, "VIOLATION (×%d) %s\n", seen[k], k)
	}
	fmt.Fprintf(r.out, "%d passed, %d failed\n", n-len(violations)-len(errs), len(violations)+len(errs))
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(violations) > 0 {
		return fmt.Errorf("%d exchanges violate their contracts", len(violations))
	}
	return nil
}
