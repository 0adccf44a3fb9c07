package testdb

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/migrations"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// adminConn opens an admin connection closed at cleanup.
func adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := connect(t.Context(), adminURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func databaseExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
	return n == 1
}

// latestMigration is the highest version among the embedded migration files.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	entries, err := fs.ReadDir(migrations.FS, ".")
	require.NoError(t, err)
	var latest int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		require.NoError(t, err)
		latest = max(latest, v)
	}
	require.Positive(t, latest, "no migrations found")
	return latest
}

func TestNew(t *testing.T) {
	t.Parallel()
	pool := New(t)
	ctx := t.Context()

	var name string
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_database()").Scan(&name))
	require.True(t, strings.HasPrefix(name, testPrefix), name)

	var version int64
	require.NoError(t, pool.QueryRow(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version))
	require.Equal(t, latestMigration(t), version, "the clone holds every migration")

	// The clone is writable and private.
	_, err := pool.Exec(ctx, "CREATE TABLE testdb_probe (id int)")
	require.NoError(t, err)
}

func TestDatabasesAreIsolated(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := New(t), New(t)
	_, err := a.Exec(ctx, "CREATE TABLE only_in_a (id int)")
	require.NoError(t, err)
	var found bool
	require.NoError(t, b.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&found))
	require.False(t, found)
}

func TestURLDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	conn := adminConn(t)
	var name string
	t.Run("user", func(t *testing.T) {
		url := URL(t)
		// Code under test that opens its own connection and never closes it must not keep
		// the database from being dropped.
		c, err := pgx.Connect(t.Context(), url)
		require.NoError(t, err)
		require.NoError(t, c.QueryRow(t.Context(), "SELECT current_database()").Scan(&name))
		require.True(t, databaseExists(t, conn, name))
		t.Cleanup(func() { _ = c.Close(context.Background()) }) // runs after the drop
	})
	require.NotEmpty(t, name)
	require.False(t, databaseExists(t, conn, name), "dropped when the subtest finished")
}

func TestManyParallelClones(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			pool := New(t)
			_, err := pool.Exec(t.Context(), "CREATE TABLE probe (id int PRIMARY KEY)")
			require.NoError(t, err)
			_, err = pool.Exec(t.Context(), "INSERT INTO probe VALUES ($1)", i)
			require.NoError(t, err)
		})
	}
}

// uniqueMigrations returns a migration set no other run has, so its template is built here.
func uniqueMigrations(t *testing.T) fstest.MapFS {
	t.Helper()
	tag, err := newTestName(time.Now())
	require.NoError(t, err)
	return fstest.MapFS{
		"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (id int); -- " + tag + "\n")},
		"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (id int);\n")},
	}
}

// recorder collects log lines from several goroutines.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recorder) count(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// dropTemplateAtCleanup removes a template made by a test.
func dropTemplateAtCleanup(t *testing.T, conn *pgx.Conn, name string) {
	t.Cleanup(func() {
		require.NoError(t, dropTemplate(context.Background(), conn, name))
	})
}

func TestPrepareTemplateRace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := adminConn(t)
	fsys := uniqueMigrations(t)
	sum, err := hashFS(fsys)
	require.NoError(t, err)
	dropTemplateAtCleanup(t, conn, templatePrefix+sum)

	// Each goroutine has its own session, as each test binary does, so they contend for the
	// advisory lock exactly like separate processes.
	var rec recorder
	names := make([]string, 6)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() { names[i], errs[i] = prepareTemplate(ctx, adminURL(), fsys, rec.logf) })
	}
	wg.Wait()
	for i := range names {
		require.NoError(t, errs[i])
		require.Equal(t, templatePrefix+sum, names[i])
	}
	require.Equal(t, 1, rec.count("built template"), "built exactly once: %q", rec.lines)

	exists, ready, err := templateState(ctx, conn, names[0])
	require.NoError(t, err)
	require.True(t, exists && ready)

	clone, err := newTestName(time.Now())
	require.NoError(t, err)
	require.NoError(t, cloneDatabase(ctx, adminURL(), names[0], clone))
	t.Cleanup(func() { require.NoError(t, dropTestDatabase(context.Background(), adminURL(), clone)) })
	c, err := pgx.Connect(ctx, databaseURL(adminURL(), clone))
	require.NoError(t, err)
	defer c.Close(context.Background())
	var tables int
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')").Scan(&tables))
	require.Equal(t, 2, tables)
}

func TestPrepareTemplateRebuildsHalfMade(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := adminConn(t)
	fsys := uniqueMigrations(t)
	sum, err := hashFS(fsys)
	require.NoError(t, err)
	name := templatePrefix + sum
	dropTemplateAtCleanup(t, conn, name)

	// What a process killed while migrating leaves behind: the database, not yet a template.
	// (The fresh comment keeps other tests' pruning from dropping it before prepareTemplate runs.)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident(name))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "COMMENT ON DATABASE "+ident(name)+" IS "+quote(commentPrefix+strconv.FormatInt(time.Now().Unix(), 10)))
	require.NoError(t, err)

	var rec recorder
	got, err := prepareTemplate(ctx, adminURL(), fsys, rec.logf)
	require.NoError(t, err)
	require.Equal(t, name, got)
	require.Equal(t, 1, rec.count("rebuilding half-made template"), rec.lines)
	_, ready, err := templateState(ctx, conn, name)
	require.NoError(t, err)
	require.True(t, ready)
}

func TestPrepareTemplateBadMigration(t *testing.T) {
	t.Parallel()
	conn := adminConn(t)
	fsys := fstest.MapFS{"00001_bad.sql": {Data: []byte("-- +goose Up\nCREATE TABLE nope (;\n-- " + t.Name() + time.Now().String() + "\n")}}
	sum, err := hashFS(fsys)
	require.NoError(t, err)
	dropTemplateAtCleanup(t, conn, templatePrefix+sum)

	_, err = prepareTemplate(t.Context(), adminURL(), fsys, t.Logf)
	require.ErrorContains(t, err, "migrate template")
	require.False(t, databaseExists(t, conn, templatePrefix+sum), "a failed build leaves nothing behind")
}

func TestPruneStale(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	conn := adminConn(t)
	now := time.Now()

	make := func(name string, template bool, used time.Time) {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name))
		require.NoError(t, err)
		t.Cleanup(func() { _ = dropTemplate(context.Background(), conn, name) })
		if template {
			_, err = conn.Exec(ctx, "COMMENT ON DATABASE "+ident(name)+" IS "+quote(commentPrefix+strconv.FormatInt(used.Unix(), 10)))
			require.NoError(t, err)
			_, err = conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true")
			require.NoError(t, err)
		}
	}
	randomHash := func() string {
		n, err := newTestName(now)
		require.NoError(t, err)
		return n[len(n)-12:]
	}
	oldTpl, freshTpl := templatePrefix+randomHash(), templatePrefix+randomHash()
	oldTest, err := newTestName(now.Add(-staleAfter - time.Minute))
	require.NoError(t, err)
	freshTest, err := newTestName(now)
	require.NoError(t, err)

	// Pruning runs under the lock, as in prepareTemplate; the databases are made under it too,
	// or another test's pruning could see the templates before their comment is set.
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey)
	require.NoError(t, err)
	make(oldTpl, true, now.Add(-staleAfter-time.Minute))
	make(freshTpl, true, now.Add(-time.Minute))
	make(oldTest, false, time.Time{})
	make(freshTest, false, time.Time{})
	var rec recorder
	err = pruneStale(ctx, conn, "none", now, rec.logf)
	_, unlockErr := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey)
	require.NoError(t, err)
	require.NoError(t, unlockErr)

	require.False(t, databaseExists(t, conn, oldTpl))
	require.False(t, databaseExists(t, conn, oldTest))
	require.True(t, databaseExists(t, conn, freshTpl))
	require.True(t, databaseExists(t, conn, freshTest))
}

func TestHashFS(t *testing.T) {
	t.Parallel()
	base := fstest.MapFS{"00001_a.sql": {Data: []byte("x")}, "00002_b.sql": {Data: []byte("y")}}
	h := func(fsys fs.FS) string {
		s, err := hashFS(fsys)
		require.NoError(t, err)
		require.Len(t, s, 12)
		return s
	}
	same := fstest.MapFS{"00002_b.sql": {Data: []byte("y")}, "00001_a.sql": {Data: []byte("x")}}
	changed := fstest.MapFS{"00001_a.sql": {Data: []byte("x")}, "00002_b.sql": {Data: []byte("z")}}
	renamed := fstest.MapFS{"00001_a.sql": {Data: []byte("x")}, "00003_b.sql": {Data: []byte("y")}}
	added := fstest.MapFS{"00001_a.sql": {Data: []byte("x")}, "00002_b.sql": {Data: []byte("y")}, "00003_c.sql": {}}
	// Moving bytes between a name and a content must change the hash too.
	shifted := fstest.MapFS{"00001_a.sql": {Data: []byte("x00002_b.sqly")}}

	require.Equal(t, h(base), h(same))
	for _, other := range []fs.FS{changed, renamed, added, shifted} {
		require.NotEqual(t, h(base), h(other))
	}
	require.NotEqual(t, h(base), h(migrations.FS))
}

func TestUnreachableServerNamesVariable(t *testing.T) {
	t.Parallel()
	_, err := connect(t.Context(), "postgres://postgres:secret@127.0.0.1:1/postgres?sslmode=disable")
	require.Error(t, err)
	require.ErrorContains(t, err, envURL)
	require.ErrorContains(t, err, "127.0.0.1:1")
	require.NotContains(t, err.Error(), "secret")
}

func TestNames(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	name, err := newTestName(now)
	require.NoError(t, err)
	require.LessOrEqual(t, len(name), 63, "PostgreSQL identifier limit")
	require.Equal(t, strings.ToLower(name), name, "unquoted identifiers fold to lower case")
	got, ok := testNameTime(name)
	require.True(t, ok)
	require.True(t, got.Equal(now))

	require.False(t, isStale(name, "", now.Add(staleAfter-time.Second)))
	require.True(t, isStale(name, "", now.Add(staleAfter+time.Second)))
	require.False(t, isStale(testPrefix+"someone_elses", "", now), "unknown names are left alone")
	tpl := templatePrefix + "0123456789ab"
	require.True(t, isStale(tpl, "", now), "no comment: left half-made")
	comment := commentPrefix + strconv.FormatInt(now.Unix(), 10)
	require.False(t, isStale(tpl, comment, now.Add(time.Hour)))
	require.True(t, isStale(tpl, comment, now.Add(staleAfter+time.Second)))
}

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://u:p@h:5/db1?sslmode=disable",
		databaseURL("postgres://u:p@h:5/postgres?sslmode=disable", "db1"))
	require.Equal(t, "host=h user=u dbname=db1", databaseURL("host=h user=u", "db1"))
}
