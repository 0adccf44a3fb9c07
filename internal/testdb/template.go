package testdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/poolgate/poolgate/migrations"
)

const (
	// templatePrefix starts the name of every template database; a 12-hex-digit hash follows.
	templatePrefix = "poolgate_tpl_"
	// buildVersion is hashed with the migrations: change it when templates are built differently.
	buildVersion = "poolgate-testdb-1"
	// lockKey is the advisory lock key every process takes around template work ("pgtpl").
	lockKey int64 = 0x7067_74706c
	// staleAfter is how long a template of other migrations, or a per-test database, may go
	// unused before a process may drop it. It is far longer than any test binary runs, so a
	// database another process may still clone from or use is never dropped.
	staleAfter = 6 * time.Hour
	// prepareTimeout bounds building the template, migrations included.
	prepareTimeout = 3 * time.Minute
	// commentPrefix starts the comment on a template, which records when it was last used.
	commentPrefix = "poolgate testdb template; last used "
)

// tmpl memoizes, once per process, the template database's name or why it could not be made.
// It is the package's only mutable state.
var tmpl struct {
	mu   sync.Mutex
	done bool
	name string
	err  error
}

// templateName returns the name of the migrated template, preparing it on the first call in this
// process. A failure is remembered too, so every later test fails fast with the same message.
func templateName(t testing.TB, admin string) (string, error) {
	tmpl.mu.Lock()
	defer tmpl.mu.Unlock()
	if !tmpl.done {
		ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
		defer cancel()
		tmpl.name, tmpl.err = prepareTemplate(ctx, admin, migrations.FS, t.Logf)
		tmpl.done = true
	}
	return tmpl.name, tmpl.err
}

// hashFS returns a 12-hex-digit digest of the names and contents of all files in fsys.
func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	h.Write([]byte(buildVersion))
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		// Length-prefixed so that no two different file sets hash the same input.
		fmt.Fprintf(h, "\x00%d:%s\x00%d:", len(path), path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// prepareTemplate makes sure the template for the migrations in fsys exists and is ready, and
// returns its name. Every step runs under the advisory lock, so processes racing here build it
// once; the others wait and then find it ready. A template left half-made by a process that died
// is rebuilt. Finally it drops stale databases left by earlier runs.
func prepareTemplate(ctx context.Context, admin string, fsys fs.FS, logf func(string, ...any)) (string, error) {
	sum, err := hashFS(fsys)
	if err != nil {
		return "", err
	}
	name := templatePrefix + sum
	conn, err := connect(ctx, admin)
	if err != nil {
		return "", err
	}
	// Closing the session also releases the advisory lock.
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return "", fmt.Errorf("take template lock: %w", err)
	}

	exists, ready, err := templateState(ctx, conn, name)
	if err != nil {
		return "", err
	}
	if !ready {
		if exists {
			logf("testdb: rebuilding half-made template %s", name)
			if err := dropTemplate(ctx, conn, name); err != nil {
				return "", err
			}
		}
		if err := buildTemplate(ctx, conn, admin, name, fsys, logf); err != nil {
			// Leave nothing half-made behind; the next process would rebuild it anyway.
			_ = dropTemplate(context.WithoutCancel(ctx), conn, name)
			return "", err
		}
	}
	now := time.Now()
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+ident(name)+" IS "+quote(commentPrefix+strconv.FormatInt(now.Unix(), 10))); err != nil {
		return "", fmt.Errorf("mark template %s used: %w", name, err)
	}
	if err := pruneStale(ctx, conn, name, now, logf); err != nil {
		// Not fatal: stale databases only take disk space.
		logf("testdb: drop stale databases: %v", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
		return "", fmt.Errorf("release template lock: %w", err)
	}
	return name, nil
}

// templateState reports whether the template exists and whether it is ready: marked as a
// template and closed to connections, which is the last step of building it.
func templateState(ctx context.Context, conn *pgx.Conn, name string) (exists, ready bool, err error) {
	err = conn.QueryRow(ctx,
		"SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = $1", name).Scan(&ready)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("look up template %s: %w", name, err)
	}
	return true, ready, nil
}

// buildTemplate creates database name, migrates it with goose, waits until no session is left on
// it, and marks it a template that accepts no connections (so a stray session can never make
// cloning fail).
func buildTemplate(ctx context.Context, conn *pgx.Conn, admin, name string, fsys fs.FS, logf func(string, ...any)) error {
	start := time.Now()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create template %s: %w", name, err)
	}
	applied, err := migrate(ctx, databaseURL(admin, name), fsys)
	if err != nil {
		return fmt.Errorf("migrate template %s: %w", name, err)
	}
	if err := waitNoSessions(ctx, conn, name); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("mark template %s ready: %w", name, err)
	}
	logf("testdb: built template %s (%d migrations) in %s", name, applied, time.Since(start).Round(time.Millisecond))
	return nil
}

// migrate applies every goose migration in fsys to the database at url and closes its connections.
func migrate(ctx context.Context, url string, fsys fs.FS) (int, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return 0, err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys)
	if err != nil {
		return 0, err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return 0, err
	}
	return len(results), db.Close()
}

// waitNoSessions waits until the server has finished closing every session on database name;
// backends exit a moment after their client disconnects.
func waitNoSessions(ctx context.Context, conn *pgx.Conn, name string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name).Scan(&n); err != nil {
			return fmt.Errorf("count sessions on %s: %w", name, err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("template %s: %d sessions still connected after migrating", name, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// dropTemplate drops a template database (or a half-made one) if it exists.
func dropTemplate(ctx context.Context, conn *pgx.Conn, name string) error {
	exists, _, err := templateState(ctx, conn, name)
	if err != nil || !exists {
		return err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE false"); err != nil {
		return fmt.Errorf("unmark template %s: %w", name, err)
	}
	return dropDatabase(ctx, conn, name)
}

// pruneStale drops templates other than current, and per-test databases, unused for staleAfter:
// leftovers of changed migrations and of test binaries that were killed before their cleanup.
// It runs under the advisory lock, so no template it looks at is being built.
func pruneStale(ctx context.Context, conn *pgx.Conn, current string, now time.Time, logf func(string, ...any)) error {
	rows, err := conn.Query(ctx, `
		SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database
		WHERE starts_with(datname, $1) OR starts_with(datname, $2)`, templatePrefix, testPrefix)
	if err != nil {
		return err
	}
	type db struct{ name, comment string }
	dbs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (db, error) {
		var d db
		return d, r.Scan(&d.name, &d.comment)
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dbs {
		if d.name == current || !isStale(d.name, d.comment, now) {
			continue
		}
		var err error
		if strings.HasPrefix(d.name, templatePrefix) {
			err = dropTemplate(ctx, conn, d.name)
		} else {
			err = dropDatabase(ctx, conn, d.name)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		logf("testdb: dropped stale database %s", d.name)
	}
	return errors.Join(errs...)
}

// isStale reports whether a database of ours went unused for staleAfter. A template without a
// readable last-used comment was left half-made by a process that died.
func isStale(name, comment string, now time.Time) bool {
	var used time.Time
	if strings.HasPrefix(name, templatePrefix) {
		sec, err := strconv.ParseInt(strings.TrimPrefix(comment, commentPrefix), 10, 64)
		if err != nil || !strings.HasPrefix(comment, commentPrefix) {
			return true
		}
		used = time.Unix(sec, 0)
	} else {
		created, ok := testNameTime(name)
		if !ok {
			return false // not a name this package makes: leave it alone
		}
		used = created
	}
	return now.Sub(used) > staleAfter
}

// quote quotes a string literal for SQL.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
