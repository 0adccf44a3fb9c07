package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/poolgate/poolgate/internal/freeport"
)

// Seeded names and prices.
const (
	benchModel    = "gpt-4o-mini"
	adminUser     = "admin"
	adminPassword = "bench-admin-password-1"
	benchUser     = "bench"
	benchPassword = "bench-user-password-1"
)

// poolgateProc is the Poolgate under test with the resources made for it.
type poolgateProc struct {
	child       *child
	dir         string // temporary directory: binary, working directory, log
	logPath     string
	pgURL       string // server URL (maintenance database)
	dbName      string
	dbURL       string
	redisURL    string
	redisPrefix string
	apiKey      string
	extra       []*child // further processes on the same database (launch)
	bin         string   // the binary run
	env         []string // its environment, PORT excluded
	profiles    bool     // serve runtime profiles and forwarding delays (DEBUG_ADDR)
}

// startPoolgate builds (unless -poolgate names a binary) and starts Poolgate on a fresh database,
// waits for /health and seeds it through its API. On error the returned value, when not nil,
// still needs cleanup.
// stamp, when not nil, is the time-stamping upstream: its plain listener is seeded as a second
// OpenAI channel for model slowModel, its TLS listener as a third for heldModel (Poolgate trusts
// its certificate through SSL_CERT_FILE).
func startPoolgate(ctx context.Context, cfg config, kids *children, upstreamAPI string, stamp *stampUpstream) (*poolgateProc, error) {
	dir, err := os.MkdirTemp("", "poolbench-")
	if err != nil {
		return nil, err
	}
	p := &poolgateProc{dir: dir, logPath: filepath.Join(dir, "poolgate.log"), pgURL: cfg.pgURL, redisURL: cfg.redisURL}
	bin := cfg.poolgate
	if bin == "" {
		bin = filepath.Join(dir, "poolgate")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/poolgate/poolgate/cmd/poolgate") //nolint:gosec // our own temporary path
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return p, fmt.Errorf("go build ./cmd/poolgate: %w", err)
		}
	}
	suffix := randomHex(6)
	p.dbName = "poolgate_bench_" + suffix
	if p.dbURL, err = p.createDatabase(ctx); err != nil {
		return p, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "APP_ENV=production", "DATABASE_URL=" + p.dbURL,
		"ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		"JWT_SECRET=" + randomHex(24), "LOG_LEVEL=" + cfg.logLevel, "LOG_FORMAT=json",
	}
	if cfg.redisURL != "" {
		p.redisPrefix = "poolbench:" + suffix + ":"
		env = append(env, "REDIS_URL="+cfg.redisURL, "REDIS_PREFIX="+p.redisPrefix)
	}
	if stamp != nil {
		env = append(env, "SSL_CERT_FILE="+stamp.certFile)
	}
	env = append(env, cfg.extraEnv...)
	p.bin, p.env, p.profiles = bin, env, true
	if p.child, err = p.launch(ctx, kids, "poolgate", p.logPath); err != nil {
		return p, err
	}
	return p, p.seed(ctx, upstreamAPI, stamp)
}

// launch starts one more Poolgate process on the same database and Redis, logging to logPath, and
// waits until it is healthy.
func (p *poolgateProc) launch(ctx context.Context, kids *children, name, logPath string) (*child, error) {
	port, err := freeport.Take()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath) //nolint:gosec // our own temporary directory
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	env := append(slices.Clone(p.env), "PORT="+strconv.Itoa(port))
	debugAddr := ""
	if p.profiles {
		dport, err := freeport.Take()
		if err != nil {
			return nil, err
		}
		debugAddr = "127.0.0.1:" + strconv.Itoa(dport)
		env = append(env, "DEBUG_ADDR="+debugAddr)
	}
	cmd := exec.Command(p.bin, "serve") //nolint:gosec // the binary just built or named by the operator
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	c, err := kids.start(name, cmd)
	if err != nil {
		return nil, err
	}
	c.url = "http://127.0.0.1:" + strconv.Itoa(port)
	c.debugAddr = debugAddr
	if p.child != nil {
		p.extra = append(p.extra, c)
	}
	if err := p.waitHealthy(ctx, c, logPath, 60*time.Second); err != nil {
		return c, err
	}
	return c, nil
}

// createDatabase creates the benchmark database and returns its URL.
func (p *poolgateProc) createDatabase(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, p.pgURL)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", p.pgURL, err)
	}
	defer conn.Close(context.WithoutCancel(cctx))
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{p.dbName}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(p.pgURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + p.dbName
	return u.String(), nil
}

// waitHealthy polls GET /health until it answers 200, Poolgate exits, or limit passes.
func (p *poolgateProc) waitHealthy(ctx context.Context, c *child, logPath string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	for time.Now().Before(deadline) {
		res, err := client.Get(c.url + "/health") //nolint:gosec // the loopback URL of a process this benchmark started
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited (%v); its log:\n%s", c.name, c.cmd.ProcessState, logTail(logPath))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not healthy within %s; its log:\n%s", c.name, limit, logTail(logPath))
}

// seed creates, through the API, the administrator, a channel on the fake upstream with one
// account, the model's price, a user with a large balance, and that user's API key.
func (p *poolgateProc) seed(ctx context.Context, upstreamAPI string, stamp *stampUpstream) error {
	a := apiClient{base: p.child.url, http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	defer a.http.CloseIdleConnections()
	creds := map[string]string{"username": adminUser, "password": adminPassword}
	if err := a.do(ctx, http.MethodPost, "/api/setup", "", creds, http.StatusCreated, nil); err != nil {
		return err
	}
	var login struct{ Token string }
	if err := a.do(ctx, http.MethodPost, "/auth/password/login", "", creds, http.StatusOK, &login); err != nil {
		return err
	}
	if err := seedChannel(ctx, a, login.Token, "bench", upstreamAPI, benchModel); err != nil {
		return err
	}
	// The load measures the gateway, not the shared quota pool's default cap per user.
	if err := a.do(ctx, http.MethodPut, "/api/settings", login.Token, map[string]int64{"shared_quota_base": 1_000_000_000},
		http.StatusOK, nil); err != nil {
		return err
	}
	// Limits on, as the speed issue's full path asks: a rule every call matches and none reaches
	// (requests, tokens — a TPM rule, its window summed without a scan — and concurrency per user).
	if err := a.do(ctx, http.MethodPost, "/api/limits", login.Token, map[string]any{
		"scope": "user", "model": "*", "window": "1m", "requests": 1_000_000_000, "tokens": 1_000_000_000_000,
		"concurrency": 1_000_000},
		http.StatusCreated, nil); err != nil {
		return err
	}
	if err := a.do(ctx, http.MethodPost, "/api/models", login.Token, map[string]any{
		"name": benchModel, "input_price": 1_000_000, "output_price": 2_000_000}, http.StatusCreated, nil); err != nil {
		return err
	}
	if stamp != nil {
		if err := seedChannel(ctx, a, login.Token, "bench-slow", stamp.url+"/v1", slowModel); err != nil {
			return err
		}
		if err := seedChannel(ctx, a, login.Token, "bench-held", stamp.tlsURL+"/v1", heldModel); err != nil {
			return err
		}
	}
	var reg struct {
		Token string
		User  struct{ ID int64 }
	}
	if err := a.do(ctx, http.MethodPost, "/auth/password/register", "",
		map[string]string{"username": benchUser, "password": benchPassword}, http.StatusOK, &reg); err != nil {
		return err
	}
	if err := a.do(ctx, http.MethodPut, "/api/users/"+strconv.FormatInt(reg.User.ID, 10), login.Token,
		map[string]int64{"balance": 1_000_000_000_000}, http.StatusOK, nil); err != nil {
		return err
	}
	var key struct{ Key string }
	if err := a.do(ctx, http.MethodPost, "/api/user/api-keys", reg.Token, map[string]string{"name": "bench"}, http.StatusCreated, &key); err != nil {
		return err
	}
	if key.Key == "" {
		return errors.New("seed: the API key answer carries no key")
	}
	p.apiKey = key.Key
	return nil
}

// seedChannel creates an OpenAI channel for model on base with one account and, unless it is the
// main benchmark model (priced by seed), the model's price.
func seedChannel(ctx context.Context, a apiClient, token, name, base, model string) error {
	var ch struct{ ID int64 }
	if err := a.do(ctx, http.MethodPost, "/api/channels", token, map[string]any{
		"name": name, "type": "openai", "base_url": base, "models": []string{model}}, http.StatusCreated, &ch); err != nil {
		return err
	}
	if err := a.do(ctx, http.MethodPost, "/api/channels/"+strconv.FormatInt(ch.ID, 10)+"/accounts", token,
		map[string]string{"credential": "sk-upstream-" + name + "-0001"}, http.StatusCreated, nil); err != nil {
		return err
	}
	if model == benchModel {
		return nil
	}
	return a.do(ctx, http.MethodPost, "/api/models", token, map[string]any{
		"name": model, "input_price": 1_000_000, "output_price": 2_000_000}, http.StatusCreated, nil)
}

// meterCheck compares the usage log with what the load generator saw from Poolgate.
type meterCheck struct {
	responded, ok int64 // Poolgate answers with any status; 200 answers complete at the client
	rows, rows200 int64 // usage_logs rows; of which status 200
	waited        time.Duration
	// What the client saw besides complete 200s (warm-ups included), and the rows by status.
	statuses map[string]int64
	partial  int64
	logged   map[int]int64
}

func (m meterCheck) pass() bool { return m.rows == m.responded && m.rows200 == m.ok }

// loggedByStatus counts usage_logs rows by status.
func loggedByStatus(ctx context.Context, conn *pgx.Conn) (map[int]int64, error) {
	rows, err := conn.Query(ctx, `SELECT status_code, count(*) FROM usage_logs GROUP BY status_code`)
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for rows.Next() {
		var status int
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		out[status] = n
	}
	return out, rows.Err()
}

// checkMetering waits (up to 15 s) for the batch writer to log every answered call, then counts.
func (p *poolgateProc) checkMetering(ctx context.Context, c counts) (meterCheck, error) {
	m := meterCheck{responded: c.responded, ok: c.ok, statuses: c.statuses, partial: c.partial}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, p.dbURL)
	if err != nil {
		return m, err
	}
	defer conn.Close(context.WithoutCancel(cctx))
	start := time.Now()
	for {
		err := conn.QueryRow(cctx, `SELECT count(*), count(*) FILTER (WHERE status_code = 200) FROM usage_logs`).Scan(&m.rows, &m.rows200)
		if err != nil {
			return m, err
		}
		m.waited = time.Since(start)
		if m.rows >= m.responded || m.waited > 15*time.Second {
			m.logged, err = loggedByStatus(cctx, conn)
			return m, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cleanup stops Poolgate, drops its database, deletes its Redis keys and the temporary directory.
func (p *poolgateProc) cleanup() {
	for _, c := range p.extra {
		c.stop(15 * time.Second)
	}
	if p.child != nil {
		p.child.stop(15 * time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if p.dbURL != "" {
		if conn, err := pgx.Connect(ctx, p.pgURL); err == nil {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{p.dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
				fmt.Fprintf(os.Stderr, "poolbench: drop database %s: %v\n", p.dbName, err)
			}
			_ = conn.Close(ctx)
		}
	}
	if p.redisPrefix != "" {
		if opt, err := redis.ParseURL(p.redisURL); err == nil {
			rdb := redis.NewClient(opt)
			it := rdb.Scan(ctx, 0, p.redisPrefix+"*", 1000).Iterator()
			for it.Next(ctx) {
				rdb.Del(ctx, it.Val())
			}
			_ = rdb.Close()
		}
	}
	_ = os.RemoveAll(p.dir) //nolint:gosec // the directory os.MkdirTemp made
}

// logTail returns the end of a Poolgate log.
func logTail(path string) string {
	b, _ := os.ReadFile(path) //nolint:gosec // our own temporary directory
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// apiClient calls Poolgate's management API with JSON.
type apiClient struct {
	base string
	http *http.Client
}

func (a apiClient) do(ctx context.Context, method, path, token string, in any, want int, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }
