package devenv

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer is a logger whose output the test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func newLog(t *testing.T) (*slog.Logger, *logBuffer) {
	t.Helper()
	var b logBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(b.String())
		}
	})
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

// currentDatabase connects to url and returns the database it lands in.
func currentDatabase(t *testing.T, url string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var name string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name))
	return name
}

// dataDir returns a fresh directory the postgres user can reach when the test runs as root
// (t.TempDir's directories are private to their owner).
func dataDir(t *testing.T, elems ...string) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chmod(dir, 0o711))
		require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	}
	return filepath.Join(append([]string{dir}, elems...)...)
}

func requireBinaries(t *testing.T) []string {
	t.Helper()
	dirs := systemBinDirs()
	if len(dirs) == 0 {
		t.Skip("no PostgreSQL binaries (initdb, pg_ctl) installed")
	}
	return dirs
}

// stopAtCleanup makes sure a cluster a test started does not outlive it.
func stopAtCleanup(t *testing.T, dirs []string, data string) {
	t.Cleanup(func() {
		c := &cluster{bin: pickBinDir(dirs, data), data: data}
		if os.Geteuid() == 0 {
			c.owner = mustLookup(t)
		}
		if ok, _ := c.running(context.Background()); ok {
			_ = c.run(context.Background(), "pg_ctl", "-D", data, "-w", "-m", "immediate", "stop")
		}
	})
}

func TestLocalServer(t *testing.T) {
	t.Parallel()
	log, logs := newLog(t)
	if err := ensureDatabase(t.Context(), localServers()[0].admin, "postgres"); err != nil {
		t.Skipf("no local server at 127.0.0.1:5432 with trust auth: %v", err)
	}

	url, stop, err := Database(t.Context(), log, dataDir(t, "data"))
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/poolgate?sslmode=disable", url)
	require.Equal(t, "poolgate", currentDatabase(t, url))
	require.Contains(t, logs.String(), "using the local server")
	require.NoError(t, stop(t.Context()), "stopping is a no-op")
	require.Equal(t, "poolgate", currentDatabase(t, url), "the shared server keeps running")
}

func TestPrivateCluster(t *testing.T) {
	t.Parallel()
	dirs := requireBinaries(t)
	log, logs := newLog(t)
	dir := dataDir(t, "data")
	data := filepath.Join(dir, "pg")
	stopAtCleanup(t, dirs, data)
	// No local server answers, so Database takes the private path for real.
	f := finder{servers: []server{{admin: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"}}, binDirs: systemBinDirs}
	ctx := t.Context()

	url, stop, err := f.database(ctx, log, dir)
	require.NoError(t, err)
	require.Equal(t, "postgres:///poolgate?host="+data+"&user=postgres&sslmode=disable", url)
	require.Equal(t, "poolgate", currentDatabase(t, url))
	require.Contains(t, logs.String(), "initialising a private cluster")
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes')")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	// A second run finds it running: it reuses it and must not stop it.
	logs.reset()
	url2, stop2, err := f.database(ctx, log, dir)
	require.NoError(t, err)
	require.Equal(t, url, url2)
	require.Contains(t, logs.String(), "reusing the running private cluster")
	require.NoError(t, stop2(ctx))
	require.Equal(t, "poolgate", currentDatabase(t, url), "still running")

	// The run that started it stops it.
	require.NoError(t, stop(ctx))
	_, err = pgx.Connect(ctx, url)
	require.Error(t, err, "stopped")

	// The next run starts it again without initialising, and the data is still there.
	logs.reset()
	url3, stop3, err := f.database(ctx, log, dir)
	require.NoError(t, err)
	require.Equal(t, url, url3)
	require.NotContains(t, logs.String(), "initialising")
	require.Contains(t, logs.String(), "starting the private cluster")
	conn, err = pgx.Connect(ctx, url3)
	require.NoError(t, err)
	var v string
	require.NoError(t, conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v))
	require.Equal(t, "yes", v)
	require.NoError(t, conn.Close(ctx))
	require.NoError(t, stop3(ctx))
}

func TestPrivateClusterLongPath(t *testing.T) {
	t.Parallel()
	dirs := requireBinaries(t)
	log, _ := newLog(t)
	dir := dataDir(t, strings.Repeat("long-directory-name-", 6))
	data := filepath.Join(dir, "pg")
	stopAtCleanup(t, dirs, data)
	sockets := socketDir(data)
	require.True(t, strings.HasPrefix(sockets, "/tmp/poolgate-"), sockets)
	t.Cleanup(func() { _ = os.Remove(sockets) })

	url, stop, err := startCluster(t.Context(), log, dir, dirs)
	require.NoError(t, err)
	require.Equal(t, "postgres:///poolgate?host="+sockets+"&user=postgres&sslmode=disable", url)
	require.Equal(t, "poolgate", currentDatabase(t, url))
	require.NoError(t, stop(t.Context()))
}

func TestNothingFound(t *testing.T) {
	t.Parallel()
	f := finder{
		servers: []server{{admin: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"}},
		binDirs: func() []string { return nil },
	}
	_, _, err := f.database(t.Context(), nil, t.TempDir())
	require.ErrorContains(t, err, "set DATABASE_URL")
	t.Log(err)
}

func TestPrivateClusterFailureNamesDatabaseURL(t *testing.T) {
	t.Parallel()
	f := finder{binDirs: func() []string { return []string{"/nonexistent/bin"} }}
	_, _, err := f.database(t.Context(), nil, dataDir(t, "data"))
	require.ErrorContains(t, err, "set DATABASE_URL")
	t.Log(err)
}

func TestSocketDir(t *testing.T) {
	t.Parallel()
	require.Equal(t, "/home/dev/poolgate/.poolgate/pg", socketDir("/home/dev/poolgate/.poolgate/pg"))
	long := "/" + strings.Repeat("x", 90) + "/pg"
	got := socketDir(long)
	require.Regexp(t, `^/tmp/poolgate-[0-9a-f]{12}$`, got)
	require.Equal(t, got, socketDir(long), "stable across runs")
	require.NotEqual(t, got, socketDir(long+"2"))
	require.Regexp(t, `^/tmp/poolgate-`, socketDir("/home/dev/my project/pg"), "no shell quoting needed")
}

func TestBinDirs(t *testing.T) {
	t.Parallel()
	require.Negative(t, compareVersions("9.6", "15"))
	require.Positive(t, compareVersions("16", "15"))
	require.Zero(t, compareVersions("15", "15"))

	data := t.TempDir()
	dirs := []string{"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/bin"}
	require.Equal(t, dirs[0], pickBinDir(dirs, data))
	require.NoError(t, os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("15\n"), 0o600))
	require.Equal(t, dirs[1], pickBinDir(dirs, data), "the version the cluster was made with")
}

func mustLookup(t *testing.T) *user.User {
	u, err := user.Lookup(runAs)
	require.NoError(t, err)
	return u
}

func TestPrivateClusterUnreachableDataDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	dirs := requireBinaries(t)
	// t.TempDir's parents are private to root, so user postgres cannot reach inside.
	_, _, err := startCluster(t.Context(), nil, filepath.Join(t.TempDir(), "data"), dirs)
	require.ErrorContains(t, err, "cannot write to")
	t.Log(err)
}
