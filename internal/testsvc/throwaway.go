package testsvc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pgBin is where Debian installs PostgreSQL 15's server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// Postgres is a throwaway PostgreSQL cluster of one test, on a loopback port of its own, that the
// test may stop and start again (never the shared server). It is removed when the test ends.
type Postgres struct {
	t    testing.TB
	dir  string
	port int
	// URL is the connection string of its postgres database (trust authentication).
	URL string
}

// NewPostgres initialises and starts a throwaway cluster (as the postgres user when run as root,
// since initdb refuses root).
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	// Not t.TempDir(): its parents are root's alone, and the server runs as postgres.
	dir, err := os.MkdirTemp("", "poolgate-pg-")
	require.NoError(t, err)
	p := &Postgres{t: t, dir: dir, port: FreePort(t)}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	t.Cleanup(func() {
		_ = p.pgctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "a root test runs PostgreSQL as the postgres user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	out, err := p.run(filepath.Join(pgBin, "initdb"), "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	require.NoError(t, err, "initdb: %s", out)
	p.Start()
	return p
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

// run runs a PostgreSQL program, as postgres when the test runs as root.
func (p *Postgres) run(prog string, args ...string) ([]byte, error) {
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres", "--", prog}, args...)
		prog = "runuser"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, prog, args...).CombinedOutput() //nolint:gosec // fixed programs, arguments from the test
}

func (p *Postgres) pgctl(args ...string) error {
	args = append([]string{"-D", p.data(), "-w", "-t", "120"}, args...)
	out, err := p.run(filepath.Join(pgBin, "pg_ctl"), args...)
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w: %s", args, err, out)
	}
	return nil
}

// Start starts the cluster and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off -c max_connections=200", p.dir, p.port)
	require.NoError(p.t, p.pgctl("-l", filepath.Join(p.dir, "log"), "-o", opts, "start"))
}

// Stop stops the cluster at once (immediate shutdown: open connections are cut, as in a crash).
func (p *Postgres) Stop() {
	p.t.Helper()
	require.NoError(p.t, p.pgctl("stop", "-m", "immediate"))
}

// Redis is a throwaway redis-server of one test, without persistence: stopping it and starting it
// again also empties it.
type Redis struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
	done chan struct{}
	// URL is its redis:// URL.
	URL string
}

// NewRedis starts a throwaway Redis on a loopback port of its own; it is stopped when the test ends.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, port: FreePort(t)}
	r.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
	t.Cleanup(func() {
		if r.cmd != nil {
			r.Stop()
		}
	})
	r.Start()
	return r
}

// Start starts the server (empty) and waits until it accepts connections.
func (r *Redis) Start() {
	r.t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", //nolint:gosec // fixed program
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(r.t, cmd.Start(), "start redis-server")
	r.cmd, r.done = cmd, make(chan struct{})
	done := r.done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p := &process{cmd: cmd, out: &LockedBuffer{}, done: done}
	p.waitReady(r.t, "redis-server", func() bool { return dialable(r.port) })
}

// Stop kills the server (SIGKILL: no goodbye to its clients) and waits until it has exited.
func (r *Redis) Stop() {
	r.t.Helper()
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}
