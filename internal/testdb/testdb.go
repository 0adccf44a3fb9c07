// Package testdb gives every test its own PostgreSQL database, cloned from a template database
// that already holds the fully migrated schema.
//
// The template is named after a hash of the migration files (poolgate_tpl_<hash12>), so a changed
// migration gets a new template; test binaries, which go test runs in parallel as separate
// processes, agree on who builds it through a PostgreSQL advisory lock. Cloning takes ~15 ms, so
// each test can have a private database and still run in parallel with all the others.
//
// The server is the one named by TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); its role must be allowed to create
// databases. An unreachable server fails the test; it is never skipped.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// envURL names the variable holding the admin connection string.
	envURL = "TEST_DATABASE_URL"
	// defaultURL is the admin connection string when envURL is unset: the local server, trust auth.
	defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	// testPrefix starts the name of every per-test database.
	testPrefix = "poolgate_t_"
	// opTimeout bounds creating or dropping one per-test database.
	opTimeout = 30 * time.Second
	// poolMaxConns caps each test's pool, so many parallel tests stay under max_connections.
	poolMaxConns = 8
)

// New returns a pool on a fresh database cloned from the migrated template. The pool is closed
// and the database dropped when the test and its subtests finish.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := URL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("testdb: parse pool config: %v", err)
	}
	cfg.MaxConns = poolMaxConns
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testdb: open pool: %v", err)
	}
	// Registered after URL's drop, so it runs before it.
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("testdb: ping test database: %v", err)
	}
	return pool
}

// URL is like New but returns the connection string of the fresh database, for code that opens
// its own pool (an app under test, say). The database is dropped, after terminating any sessions
// still connected to it, when the test and its subtests finish.
func URL(t testing.TB) string {
	t.Helper()
	admin := adminURL()
	tpl, err := templateName(t, admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	name, err := newTestName(time.Now())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := cloneDatabase(ctx, admin, tpl, name); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := dropTestDatabase(ctx, admin, name); err != nil {
			// The test itself passed or failed on its own merits; a database left behind (a drop
			// slowed by checkpoints on a loaded machine) is swept as stale by a later run.
			t.Logf("testdb: %v (left for the stale sweep)", err)
		}
	})
	return databaseURL(admin, name)
}

// newTestName makes a unique database name that carries its creation time, so databases left
// behind by a killed test binary can be recognised as stale and dropped later.
func newTestName(now time.Time) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return testPrefix + strconv.FormatInt(now.Unix(), 36) + "_" + hex.EncodeToString(b[:]), nil
}

// testNameTime returns the creation time encoded in a per-test database name.
func testNameTime(name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, testPrefix)
	if !ok {
		return time.Time{}, false
	}
	stamp, _, ok := strings.Cut(rest, "_")
	if !ok {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(stamp, 36, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
