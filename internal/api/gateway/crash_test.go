package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/freeport"
)

// TestCrashLosesNoAnsweredCall runs a real poolgate binary, drives 64 concurrent callers (OpenAI
// streams, OpenAI normal calls and Claude streams translated from the OpenAI upstream) through
// it, kills it with SIGKILL mid-load and starts it again: every answer a caller received in full
// has exactly one usage row, and the user was charged exactly the rows' quota. The usage writer
// is set to write nothing before the kill (a one-hour flush interval), so every row of an
// answered call comes from the journal's replay.
func TestCrashLosesNoAnsweredCall(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the poolgate binary")
	}
	const (
		callers  = 64
		killAt   = 150 // complete answers before the kill
		balance0 = int64(1_000_000_000_000)
	)
	env := apptest.New(t)
	env.Channel("crash", []string{model}, "sk-upstream-crash-0001")
	env.Price(model, inPrice, outPrice)
	user := env.NewUser("crash", balance0)
	for range 4000 { // streams take a few milliseconds each, so the kill finds many mid-answer
		env.Upstream.Enqueue(fakeupstream.Reply{EventDelay: time.Millisecond})
	}

	bin := buildPoolgate(t)
	dir := t.TempDir()
	pg := &poolgateRun{t: t, bin: bin, dir: dir, env: []string{
		"HOME=" + dir, "APP_ENV=production", "DATABASE_URL=" + env.DatabaseURL, "DATA_DIR=" + dir,
		"ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		"JWT_SECRET=test-jwt-secret-0123456789-abcdefghij", "LOG_LEVEL=info", "LOG_FORMAT=json",
		"USAGE_JOURNAL_DIR=" + filepath.Join(dir, "journal"), "USAGE_FLUSH_INTERVAL=1h", "USAGE_BATCH_SIZE=10000",
	}}
	pg.start("first")

	var (
		mu       sync.Mutex
		complete = map[string]bool{} // request ids of answers received in full
		started  atomic.Int64
		killed   = make(chan struct{})
		enough   = make(chan struct{})
		once     sync.Once
		wg       sync.WaitGroup
	)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers, Proxy: nil}}
	t.Cleanup(hc.CloseIdleConnections)
	base := pg.url
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-killed:
					return
				default:
				}
				started.Add(1)
				id, ok := crashCall(hc, base, user.Key, (i+n)%3)
				if !ok {
					continue
				}
				mu.Lock()
				complete[id] = true
				if len(complete) >= killAt {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(5 * time.Minute):
		t.Fatalf("only %d complete answers in 5 minutes; log:\n%s", len(complete), pg.logTail())
	}
	require.NoError(t, pg.cmd.Process.Signal(syscall.SIGKILL))
	close(killed)
	_ = pg.cmd.Wait()
	wg.Wait()
	mu.Lock()
	ids := make([]string, 0, len(complete))
	for id := range complete {
		ids = append(ids, id)
	}
	mu.Unlock()
	t.Logf("%d calls started, %d answered in full before the kill", started.Load(), len(ids))

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, env.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	var before int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM usage_logs WHERE request_id = ANY($1)`, ids).Scan(&before))
	require.Zero(t, before, "the usage writer wrote nothing before the kill: the journal is what keeps the calls")

	pg.start("restart") // replays the journal before it serves
	var rows, distinct, answered int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT request_id), count(*) FILTER (WHERE request_id = ANY($1))
		FROM usage_logs WHERE user_id = $2`, ids, user.ID).Scan(&rows, &distinct, &answered))
	require.Equal(t, int64(len(ids)), answered, "every answer received in full has its usage row")
	require.Equal(t, rows, distinct, "no request id has two rows")
	var sum, used, bal int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(sum(quota), 0)::bigint FROM usage_logs WHERE user_id = $1`, user.ID).Scan(&sum))
	require.NoError(t, conn.QueryRow(ctx, `SELECT used_quota, balance FROM users WHERE id = $1`, user.ID).Scan(&used, &bal))
	require.Positive(t, sum)
	require.Equal(t, sum, used, "charges match the rows")
	require.Equal(t, balance0-sum, bal, "charged exactly the rows' quota")
	t.Logf("after the restart: %d usage rows (%d of answered calls), %d quota charged", rows, answered, sum)

	// The caller's X-Request-Id finds its row through GET /api/logs.
	res, err := env.Admin().LogListWithResponse(ctx, &adminclient.LogListParams{RequestId: &ids[0]})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Len(t, res.JSON200.Items, 1)
	require.Equal(t, ids[0], res.JSON200.Items[0].RequestId)

	// The replayed journal is gone; a clean stop leaves none.
	require.NoError(t, pg.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, pg.cmd.Wait())
	left, err := filepath.Glob(filepath.Join(dir, "journal", "*.journal"))
	require.NoError(t, err)
	require.Empty(t, left, "log:\n%s", pg.logTail())
}

// crashCall makes one call of the given kind (0: OpenAI stream, 1: OpenAI normal, 2: Claude
// stream) and reports its request id and whether the answer arrived in full.
func crashCall(hc *http.Client, base, key string, kind int) (string, bool) {
	path, body := "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"tell the crash test a few words"}]`
	switch kind {
	case 0:
		body += `,"stream":true}`
	case 1:
		body += `}`
	default:
		path = "/v1/messages"
		body = `{"model":"` + model + `","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"tell the crash test a few words"}]}`
	}
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return "", false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("anthropic-version", "2023-06-01")
	res, err := hc.Do(req)
	if err != nil {
		return "", false
	}
	defer res.Body.Close()
	id := res.Header.Get("X-Request-Id")
	if res.StatusCode != http.StatusOK || id == "" {
		_, _ = io.Copy(io.Discard, res.Body)
		return id, false
	}
	if kind == 1 {
		raw, err := io.ReadAll(res.Body)
		var v struct{ Choices []json.RawMessage }
		return id, err == nil && json.Unmarshal(raw, &v) == nil && len(v.Choices) > 0
	}
	// A stream is complete at its end marker, whatever happens to the connection after it.
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Equal(line, []byte("data: [DONE]")) ||
			(bytes.HasPrefix(line, []byte("data:")) && bytes.Contains(line, []byte(`"type":"message_stop"`))) {
			return id, true
		}
	}
	return id, false
}

// poolgateRun is the poolgate binary run by a test.
type poolgateRun struct {
	t   *testing.T
	bin string
	dir string
	env []string
	cmd *exec.Cmd
	url string
	log string
}

// start runs the binary on a fresh port and waits for /health.
func (p *poolgateRun) start(name string) {
	t := p.t
	t.Helper()
	port, err := freeport.Take()
	require.NoError(t, err)
	p.log = filepath.Join(p.dir, name+".log")
	logf, err := os.Create(p.log) //nolint:gosec // the test's own directory
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command(p.bin, "serve") //nolint:gosec // the binary this test built
	cmd.Dir, cmd.Stdout, cmd.Stderr = p.dir, logf, logf
	cmd.Env = append(append([]string{}, p.env...), "PORT="+strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	p.cmd, p.url = cmd, "http://127.0.0.1:"+strconv.Itoa(port)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	require.Eventually(t, func() bool {
		res, err := hc.Get(p.url + "/health")
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 3*time.Minute, 50*time.Millisecond, "poolgate %s not healthy; log:\n%s", name, p.logTail())
}

func (p *poolgateRun) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// buildPoolgate builds cmd/poolgate into the test's directory (one test of this binary runs it).
func buildPoolgate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "poolgate")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/poolgate/poolgate/cmd/poolgate").CombinedOutput() //nolint:gosec // our own temporary path
	require.NoError(t, err, "go build ./cmd/poolgate:\n%s", out)
	return bin
}
